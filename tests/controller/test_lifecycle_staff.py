"""Staff commands: accepted with what they did, or refused with why and no change."""

from __future__ import annotations

from controller import lifecycle as lc
from protocol.messages.printer import EventKind, PrinterState, PrinterStatus
from protocol.messages.staff import (
    StaffBedCleared,
    StaffCancelJob,
    StaffCancelPart,
    StaffCancelPlate,
    StaffMaintenanceOff,
    StaffMaintenanceOn,
    StaffPartFailed,
    StaffPartPassed,
    StaffPause,
    StaffPlateFailed,
    StaffPlatePassed,
    StaffRequeue,
    StaffSpoolLoaded,
)
from tests.controller.conftest import SITE, Farm


def printing_job(farm: Farm, quantity: int = 3) -> str:
    job = farm.submit(quantity=quantity).job
    farm.plan(
        ("mk4-1", [f"{job.id}-{i:04d}" for i in range(1, quantity + 1)]), plate_ids=["plate-a"]
    )
    farm.print_plate("mk4-1", "plate-a")
    return job.id


def test_a_refused_command_says_why_and_changes_nothing(farm: Farm) -> None:
    printing_job(farm)
    before = farm.event_count()
    reply = farm.staff(StaffBedCleared, printer_id="mk4-1")
    assert not reply.accepted
    assert reply.reason == "printer mk4-1 has plate plate-a printing; its bed cannot be clear yet"
    assert farm.event_count() == before
    assert farm.get_printer("mk4-1").bed_clear is False


def test_a_repeated_command_gets_the_same_answer_and_is_not_applied_twice(farm: Farm) -> None:
    job_id = printing_job(farm)
    farm.agent("mk4-1", EventKind.PLATE_FINISHED, "plate-a")
    first = farm.staff(
        StaffPartFailed,
        command_id="cmd-7",
        plate_id="plate-a",
        part_ids=(f"{job_id}-0001",),
        reason="warped corner",
    )
    events = farm.event_count()
    again = farm.staff(
        StaffPartFailed,
        command_id="cmd-7",
        plate_id="plate-a",
        part_ids=(f"{job_id}-0001",),
        reason="warped corner",
    )
    assert first.accepted and again.accepted and again.replayed
    assert again.reason == first.reason
    assert farm.event_count() == events
    assert farm.part(f"{job_id}-0001").attempt == 1


def test_commands_reach_only_their_own_site(farm: Farm) -> None:
    printing_job(farm)
    reply = farm.staff(StaffPause, site="other-space", printer_id="mk4-1")
    assert not reply.accepted and "no printer 'mk4-1 at site other-space'" in reply.reason


def test_a_part_failing_inspection_is_printed_again_and_reopens_the_job(farm: Farm) -> None:
    job_id = printing_job(farm, quantity=2)
    farm.agent("mk4-1", EventKind.PLATE_FINISHED, "plate-a")
    assert lc.job_status(farm.session, job_id).state == "done"
    reply = farm.staff(StaffPartFailed, plate_id="plate-a", part_ids=(f"{job_id}-0002",))
    assert reply.accepted, reply.reason
    assert farm.part_states(job_id) == ["printed", "queued"]
    assert lc.job_status(farm.session, job_id).state == "printing"


def test_failing_a_printing_part_asks_the_agent_to_skip_its_object(farm: Farm) -> None:
    job_id = printing_job(farm)
    reply = farm.staff(StaffCancelPart, plate_id="plate-a", part_id=f"{job_id}-0002")
    assert reply.accepted, reply.reason
    (request,) = reply.changes.requests
    assert (request.action, request.printer_id, request.plate_id, request.part_id) == (
        lc.AgentAction.CANCEL_PART,
        "mk4-1",
        "plate-a",
        f"{job_id}-0002",
    )
    assert request.object_label == f"{job_id}-0002"
    assert farm.part_states(job_id) == ["printing", "queued", "printing"]
    farm.agent("mk4-1", EventKind.PART_CANCELLED, "plate-a", part_ids=(f"{job_id}-0002",))
    farm.agent("mk4-1", EventKind.PLATE_FINISHED, "plate-a")
    assert farm.part_states(job_id) == ["printed", "queued", "printed"]


def test_cancelling_a_printing_job_yields_cancel_part_commands(farm: Farm) -> None:
    job_id = printing_job(farm, quantity=2)
    reply = farm.staff(StaffCancelJob, job_id=job_id, reason="shop went bust")
    assert reply.accepted, reply.reason
    assert sorted((r.action, r.part_id) for r in reply.changes.requests) == [
        (lc.AgentAction.CANCEL_PART, f"{job_id}-0001"),
        (lc.AgentAction.CANCEL_PART, f"{job_id}-0002"),
    ]
    assert farm.part_states(job_id) == ["cancelled", "cancelled"]
    assert lc.job_status(farm.session, job_id).state == "cancelled"
    assert len(lc.recover(farm.session).cancel_requests) == 2


def test_a_plate_failed_by_staff_returns_all_but_passed_parts(farm: Farm) -> None:
    job_id = printing_job(farm)
    farm.agent("mk4-1", EventKind.PLATE_FINISHED, "plate-a")
    assert farm.staff(StaffPartPassed, plate_id="plate-a", part_ids=(f"{job_id}-0001",)).accepted
    reply = farm.staff(StaffPlateFailed, plate_id="plate-a", reason="layer shift")
    assert reply.accepted, reply.reason
    assert farm.part_states(job_id) == ["printed", "queued", "queued"]


def test_failing_a_printing_plate_cancels_it_on_the_printer(farm: Farm) -> None:
    job_id = printing_job(farm)
    reply = farm.staff(StaffPlateFailed, plate_id="plate-a", reason="nozzle clog")
    assert [r.action for r in reply.changes.requests] == [lc.AgentAction.CANCEL_PLATE]
    assert farm.part_states(job_id) == ["queued"] * 3


def test_passing_a_failed_plate_takes_its_parts_out_of_the_queue(farm: Farm) -> None:
    job_id = printing_job(farm, quantity=2)
    farm.agent("mk4-1", EventKind.PLATE_FAILED, "plate-a", details="sensor false alarm")
    farm.plan(("mk4-2", [f"{job_id}-0001", f"{job_id}-0002"]), plate_ids=["plate-b"])
    reply = farm.staff(StaffPlatePassed, plate_id="plate-a")
    assert reply.accepted, reply.reason
    assert farm.part_states(job_id) == ["printed", "printed"]
    assert lc.job_status(farm.session, job_id).state == "done"


def test_cancelling_a_plate_returns_its_parts_without_counting_a_failure(farm: Farm) -> None:
    job_id = printing_job(farm, quantity=1)
    reply = farm.staff(StaffCancelPlate, plate_id="plate-a")
    assert [r.action for r in reply.changes.requests] == [lc.AgentAction.CANCEL_PLATE]
    assert (farm.part(f"{job_id}-0001").state, farm.part(f"{job_id}-0001").attempt) == ("queued", 0)
    assert farm.get_printer("mk4-1").bed_clear is False  # a half print is on the bed


def test_maintenance_cancels_plates_not_yet_sent_and_stops_dispatch(farm: Farm) -> None:
    job = farm.submit(quantity=1).job
    farm.plan(("mk4-1", [f"{job.id}-0001"]), plate_ids=["plate-a"])
    farm.slice("plate-a")
    reply = farm.staff(StaffMaintenanceOn, printer_id="mk4-1", reason="nozzle swap")
    assert reply.accepted
    assert [(r.action, r.on) for r in reply.changes.requests] == [
        (lc.AgentAction.SET_MAINTENANCE, True)
    ]
    assert farm.plate("plate-a").state == "cancelled"
    assert farm.part_states(job.id) == ["queued"]
    farm.plan(("mk4-1", [f"{job.id}-0001"]), plate_ids=["plate-b"])
    farm.slice("plate-b")
    assert farm.dispatch("mk4-1") is None
    farm.staff(StaffMaintenanceOff, printer_id="mk4-1")
    assert farm.dispatch("mk4-1") is not None


def test_requeue_gives_a_part_out_of_attempts_another_chance(farm: Farm) -> None:
    job = farm.submit(quantity=1).job
    part_id = f"{job.id}-0001"
    for attempt in range(1, lc.MAX_ATTEMPTS + 1):
        farm.plan(("mk4-1", [part_id]), plate_ids=[f"plate-{attempt}"])
        farm.print_plate("mk4-1", f"plate-{attempt}")
        farm.agent("mk4-1", EventKind.PLATE_FAILED, f"plate-{attempt}")
        farm.staff(StaffBedCleared, printer_id="mk4-1")
    assert lc.job_status(farm.session, job.id).state == "failed"
    refused = farm.staff(StaffRequeue, part_ids=(f"{job.id}-0009",))
    assert not refused.accepted and "no part" in refused.reason
    reply = farm.staff(StaffRequeue, job_id=job.id)
    assert reply.accepted and reply.reason == "1 part(s) requeued"
    assert farm.part_states(job.id) == ["queued"]
    assert lc.job_status(farm.session, job.id).state == "accepted"


def test_a_cancelled_plate_that_never_started_frees_the_bed_once_the_agent_confirms(
    farm: Farm,
) -> None:
    job = farm.submit(quantity=1).job
    farm.plan(("mk4-1", [f"{job.id}-0001"]), plate_ids=["plate-a"])
    farm.slice("plate-a")
    assert farm.dispatch("mk4-1") is not None
    reply = farm.staff(StaffCancelPlate, plate_id="plate-a")
    assert [r.action for r in reply.changes.requests] == [lc.AgentAction.CANCEL_PLATE]
    assert farm.get_printer("mk4-1").bed_clear is False  # the agent may have started it
    farm.agent("mk4-1", EventKind.PLATE_CANCELLED, "plate-a")
    assert farm.get_printer("mk4-1").bed_clear is True


def test_a_loaded_spool_stands_until_the_agent_reports_a_different_one(farm: Farm) -> None:
    farm.staff(StaffSpoolLoaded, printer_id="mk4-1", material="PETG", colour="orange")
    farm.printer("mk4-1")  # the agent still says what it was configured with: PLA black
    printer = farm.get_printer("mk4-1")
    assert (printer.loaded_material, printer.loaded_colour) == ("PETG", "orange")
    farm.printer("mk4-1", material="ASA", colour="grey")  # the printer itself saw a new spool
    printer = farm.get_printer("mk4-1")
    assert (printer.loaded_material, printer.loaded_colour) == ("ASA", "grey")


def test_provisioning_again_does_not_undo_a_spool_change(farm: Farm) -> None:
    lc.register_printer(
        farm.session, "mk4-9", site_id="hackspace", profile_id="prusa-mk4", spool=("pla", "Black")
    )
    farm.commit()
    assert (farm.get_printer("mk4-9").loaded_material, farm.get_printer("mk4-9").loaded_colour) == (
        "PLA",
        "black",
    )
    farm.staff(StaffSpoolLoaded, printer_id="mk4-9", material="PETG", colour="orange")
    lc.register_printer(
        farm.session, "mk4-9", site_id="hackspace", profile_id="prusa-mk4", spool=("PLA", "black")
    )  # the controller restarts with its farm file
    farm.commit()
    assert farm.get_printer("mk4-9").loaded_material == "PETG"


def _waiting_for_clear(farm: Farm, plate_id: str, run_id: str = "run2") -> lc.Changes:
    """The agent (restarted: a new run) reports it still waits for a clear of `plate_id`."""
    report = PrinterState(
        state=PrinterStatus.AWAITING_BED_CLEAR,
        profile_id="prusa-mk4",
        material="PLA",
        colour="black",
        plate_id=plate_id,
        agent_version="test",
        at=farm.now(),
        run_id=run_id,
        connection=1,
        sequence=1,
    )
    changes = lc.record_printer_state(farm.session, SITE, "mk4-1", report)
    farm.commit()
    return changes


def test_a_printer_still_waiting_for_a_bed_staff_cleared_is_told_again(farm: Farm) -> None:
    """The controller died between committing a staff bed clear and forwarding it: the
    agent's state, read again at start, shows it still waits, so the clear is sent again,
    naming the plate."""
    printing_job(farm)
    farm.agent("mk4-1", EventKind.PLATE_FINISHED, "plate-a")
    assert not _waiting_for_clear(farm, "plate-a", run_id="run1").requests  # not cleared yet
    assert farm.staff(StaffBedCleared, printer_id="mk4-1").accepted
    assert lc.last_cleared_plate(farm.session, "mk4-1") == "plate-a"
    changes = _waiting_for_clear(farm, "plate-a")
    assert [(r.action, r.printer_id, r.plate_id) for r in changes.requests] == [
        (lc.AgentAction.BED_CLEARED, "mk4-1", "plate-a")
    ]
    assert farm.events("printer", "mk4-1")[-1].kind == "printer.bed_clear_repeated"


def test_a_plate_the_agent_received_and_lost_is_taken_off_the_bed_by_the_clear(
    farm: Farm,
) -> None:
    """The agent died before it could report the start; on restart it failed the plate. The
    bed may hold a half print, so the clear names that plate (the agent's last)."""
    printing_job(farm)
    farm.agent("mk4-1", EventKind.PLATE_FINISHED, "plate-a")
    farm.staff(StaffBedCleared, printer_id="mk4-1")
    job = farm.submit(client_ref="order-2", quantity=1).job
    farm.plan(("mk4-1", [f"{job.id}-0001"]), plate_ids=["plate-b"])
    farm.slice("plate-b")
    assert farm.dispatch("mk4-1") is not None
    farm.agent("mk4-1", EventKind.PLATE_RECEIVED, "plate-b")
    farm.agent("mk4-1", EventKind.PLATE_FAILED, "plate-b", details="interrupted")
    assert farm.get_printer("mk4-1").bed_clear is False
    reply = farm.staff(StaffBedCleared, printer_id="mk4-1")
    assert reply.accepted, reply.reason
    assert farm.plate("plate-b").cleared_at is not None
    assert lc.last_cleared_plate(farm.session, "mk4-1") == "plate-b"
