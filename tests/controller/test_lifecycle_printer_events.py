"""Agent events drive plates and parts, each applied exactly once."""

from __future__ import annotations

from controller import lifecycle as lc
from protocol.messages.printer import EventKind, PrinterEvent
from protocol.messages.staff import StaffBedCleared
from tests.controller.conftest import Farm


def printing_job(farm: Farm, quantity: int = 3) -> str:
    """A job whose parts are all printing on plate-a on mk4-1; returns the job id."""
    job = farm.submit(quantity=quantity).job
    farm.plan(
        ("mk4-1", [f"{job.id}-{i:04d}" for i in range(1, quantity + 1)]), plate_ids=["plate-a"]
    )
    farm.print_plate("mk4-1", "plate-a")
    return job.id


def test_a_duplicate_agent_event_is_applied_once(farm: Farm) -> None:
    job_id = printing_job(farm, quantity=1)
    first = farm.agent("mk4-1", EventKind.PLATE_FAILED, "plate-a", event_id="evt-42")
    events_after_first = farm.event_count()
    again = farm.agent("mk4-1", EventKind.PLATE_FAILED, "plate-a", event_id="evt-42")
    assert first.applied and not again.applied
    assert "already applied" in again.note
    assert farm.event_count() == events_after_first
    assert farm.part(f"{job_id}-0001").attempt == 1


def test_the_same_event_id_from_another_printer_is_another_event(farm: Farm) -> None:
    printing_job(farm, quantity=1)
    farm.agent("mk4-2", EventKind.PAUSED, event_id="evt-1")
    outcome = farm.agent("mk4-1", EventKind.PAUSED, event_id="evt-1")
    assert outcome.applied


def test_started_plate_moves_its_parts_to_printing(farm: Farm) -> None:
    job_id = printing_job(farm)
    plate = farm.plate("plate-a")
    assert plate.state == "printing" and plate.started_at is not None
    assert plate.acknowledged_at is not None
    assert farm.part_states(job_id) == ["printing"] * 3
    assert lc.job_status(farm.session, job_id).state == "printing"


def test_a_finished_plate_prints_its_parts_and_the_job_is_done(farm: Farm) -> None:
    job_id = printing_job(farm)
    outcome = farm.agent("mk4-1", EventKind.PLATE_FINISHED, "plate-a")
    assert outcome.changes.jobs == {job_id}
    assert farm.plate("plate-a").state == "finished"
    assert farm.part_states(job_id) == ["printed"] * 3
    status = lc.job_status(farm.session, job_id)
    assert (status.state, status.parts.printed) == ("done", 3)


def test_a_failed_plate_returns_its_parts_to_the_queue(farm: Farm) -> None:
    job_id = printing_job(farm)
    farm.agent("mk4-1", EventKind.PLATE_FAILED, "plate-a", details="spaghetti at layer 12")
    assert farm.plate("plate-a").state == "failed"
    assert farm.plate("plate-a").reason == "spaghetti at layer 12"
    assert farm.part_states(job_id) == ["queued"] * 3
    assert [farm.part(f"{job_id}-{i:04d}").attempt for i in (1, 2, 3)] == [1, 1, 1]
    assert farm.part(f"{job_id}-0001").plate_id is None
    part_events = [(e.from_state, e.to_state) for e in farm.events("part", f"{job_id}-0001")]
    assert part_events[-2:] == [("printing", "failed"), ("failed", "queued")]
    assert lc.job_status(farm.session, job_id).state == "accepted"


def test_a_partly_failed_plate_returns_only_the_failed_parts(farm: Farm) -> None:
    job_id = printing_job(farm)
    farm.agent("mk4-1", EventKind.PLATE_FINISHED, "plate-a", part_ids=(f"{job_id}-0002",))
    assert farm.part_states(job_id) == ["printed", "queued", "printed"]
    assert farm.part(f"{job_id}-0002").attempt == 1
    status = lc.job_status(farm.session, job_id)
    assert (status.state, status.parts.printed, status.parts.queued) == ("printing", 2, 1)


def test_an_object_the_agent_cancels_itself_goes_back_to_the_queue(farm: Farm) -> None:
    job_id = printing_job(farm)
    farm.agent(
        "mk4-1",
        EventKind.PART_CANCELLED,
        "plate-a",
        part_ids=(f"{job_id}-0003",),
        details="object detached from the bed",
    )
    farm.agent("mk4-1", EventKind.PLATE_FINISHED, "plate-a")
    assert farm.part_states(job_id) == ["printed", "printed", "queued"]


def test_a_part_failing_every_attempt_fails_its_job(farm: Farm) -> None:
    job = farm.submit(quantity=1).job
    part_id = f"{job.id}-0001"
    for attempt in range(1, lc.MAX_ATTEMPTS + 1):
        plate_id = f"plate-{attempt}"
        farm.plan(("mk4-1", [part_id]), plate_ids=[plate_id])
        farm.print_plate("mk4-1", plate_id)
        farm.agent("mk4-1", EventKind.PLATE_FAILED, plate_id)
        farm.staff(StaffBedCleared, printer_id="mk4-1")
    assert (farm.part(part_id).state, farm.part(part_id).attempt) == ("failed", lc.MAX_ATTEMPTS)
    status = lc.job_status(farm.session, job.id)
    assert status.state == "failed" and "failed 3 times" in status.reason


def test_a_plate_the_agent_refuses_fails_and_frees_the_untouched_bed(farm: Farm) -> None:
    job = farm.submit(quantity=1).job
    farm.plan(("mk4-1", [f"{job.id}-0001"]), plate_ids=["plate-a"])
    farm.slice("plate-a")
    assert farm.dispatch("mk4-1") is not None
    farm.agent("mk4-1", EventKind.PLATE_REJECTED, "plate-a", details="sha256 mismatch")
    assert farm.plate("plate-a").state == "failed"
    assert "sha256 mismatch" in (farm.plate("plate-a").reason or "")
    assert farm.get_printer("mk4-1").bed_clear is True
    assert farm.part_states(job.id) == ["queued"]


def test_events_for_another_printers_plate_change_nothing(farm: Farm) -> None:
    job_id = printing_job(farm, quantity=1)
    outcome = farm.agent("mk4-2", EventKind.PLATE_FINISHED, "plate-a")
    assert not outcome.applied and "not this printer's" in outcome.note
    assert farm.plate("plate-a").state == "printing"
    assert farm.part_states(job_id) == ["printing"]


def test_progress_is_kept_on_the_plate(farm: Farm) -> None:
    printing_job(farm, quantity=1)
    event = PrinterEvent(
        event_id="p1",
        kind=EventKind.PROGRESS,
        plate_id="plate-a",
        progress=0.4,
        seconds_left=900,
        at=farm.now(),
    )
    lc.apply_printer_event(farm.session, "hackspace", "mk4-1", event)
    farm.commit()
    plate = farm.plate("plate-a")
    assert (plate.progress, plate.seconds_left) == (0.4, 900)
