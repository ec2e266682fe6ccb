"""After a crash, a new session on the same database finds all the work in flight; an
offline printer's plate is interrupted only after its grace period."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from controller import lifecycle as lc
from controller.db import create_engine_for, unit_of_work
from protocol.messages.printer import EventKind, PrinterStatus, offline_will
from protocol.messages.staff import StaffCancelPart
from tests.controller.conftest import Farm


def test_recover_after_a_crash_returns_the_work_in_flight(farm: Farm, farm_engine: Engine) -> None:
    job = farm.submit(quantity=4).job
    parts = [f"{job.id}-{i:04d}" for i in range(1, 5)]
    farm.plan(
        ("mk4-1", parts[:1]),
        ("mk4-2", parts[1:2]),
        ("mk4-2", parts[2:3]),
        plate_ids=["sent", "printing", "to-slice"],
    )
    farm.slice("sent")
    assert farm.dispatch("mk4-1") is not None  # sent, never acknowledged: then the crash
    farm.print_plate("mk4-2", "printing")
    farm.staff(StaffCancelPart, plate_id="printing", part_id=parts[1])
    farm.session.close()  # the controller dies; a new one starts on the same database

    engine = create_engine_for(farm_engine.url)
    try:
        with unit_of_work(engine) as session:
            recovery = lc.recover(session)
    finally:
        engine.dispose()
    (dispatch,) = recovery.unacknowledged_dispatches
    assert (dispatch.plate.id, dispatch.site_id, dispatch.parts) == (
        "sent",
        "hackspace",
        [(parts[0], parts[0])],
    )
    assert recovery.plates_to_slice == ["to-slice"]
    assert [(r.plate_id, r.part_id) for r in recovery.cancel_requests] == [("printing", parts[1])]
    assert recovery.open_jobs == [job.id]
    assert recovery.grace_deadlines == []


def test_an_offline_printer_gets_a_grace_deadline_that_survives_a_restart(farm: Farm) -> None:
    job = farm.submit(quantity=2).job
    farm.plan(("mk4-1", [f"{job.id}-0001", f"{job.id}-0002"]), plate_ids=["plate-a"])
    farm.print_plate("mk4-1", "plate-a")
    farm.printer("mk4-1", PrinterStatus.OFFLINE)
    printer = farm.get_printer("mk4-1")
    assert printer.grace_deadline is not None and printer.offline_since is not None
    assert printer.grace_deadline - printer.offline_since == timedelta(
        seconds=lc.DEFAULT_GRACE_SECONDS
    )
    assert lc.recover(farm.session).grace_deadlines == [("mk4-1", printer.grace_deadline)]
    assert (
        lc.expired_grace_deadlines(farm.session, printer.grace_deadline - timedelta(seconds=1))
        == []
    )
    assert lc.expired_grace_deadlines(farm.session, printer.grace_deadline) == ["mk4-1"]


def test_a_printer_back_within_its_grace_period_carries_on(farm: Farm) -> None:
    job = farm.submit(quantity=1).job
    farm.plan(("mk4-1", [f"{job.id}-0001"]), plate_ids=["plate-a"])
    farm.print_plate("mk4-1", "plate-a")
    farm.printer("mk4-1", PrinterStatus.OFFLINE)
    farm.printer("mk4-1", PrinterStatus.PRINTING)
    assert farm.get_printer("mk4-1").grace_deadline is None
    assert lc.expired_grace_deadlines(farm.session, farm.now() + timedelta(days=1)) == []
    assert farm.plate("plate-a").state == "printing"


def test_when_the_grace_period_passes_the_plate_is_interrupted_and_parts_return(farm: Farm) -> None:
    job = farm.submit(quantity=2).job
    farm.plan(("mk4-1", [f"{job.id}-0001", f"{job.id}-0002"]), plate_ids=["plate-a"])
    farm.print_plate("mk4-1", "plate-a")
    farm.printer("mk4-1", PrinterStatus.OFFLINE)
    later = farm.now() + timedelta(hours=1)
    for printer_id in lc.expired_grace_deadlines(farm.session, later):
        lc.interrupt_printer(farm.session, printer_id, now=later)
    farm.commit()
    assert farm.plate("plate-a").state == "interrupted"
    assert farm.part_states(job.id) == ["queued", "queued"]
    assert [farm.part(f"{job.id}-{i:04d}").attempt for i in (1, 2)] == [0, 0]
    assert farm.get_printer("mk4-1").grace_deadline is None


def test_an_interrupted_plate_that_finished_after_all_takes_its_parts_back(farm: Farm) -> None:
    job = farm.submit(quantity=2).job
    farm.plan(("mk4-1", [f"{job.id}-0001", f"{job.id}-0002"]), plate_ids=["plate-a"])
    farm.print_plate("mk4-1", "plate-a")
    farm.printer("mk4-1", PrinterStatus.OFFLINE)
    lc.interrupt_printer(farm.session, "mk4-1")
    farm.commit()
    farm.plan(("mk4-2", [f"{job.id}-0001"]), plate_ids=["plate-b"])
    farm.slice("plate-b")
    farm.printer("mk4-1", PrinterStatus.AWAITING_BED_CLEAR)
    farm.agent("mk4-1", EventKind.PLATE_FINISHED, "plate-a")  # replayed from the agent's disk
    assert farm.plate("plate-a").state == "finished"
    assert farm.part_states(job.id) == ["printed", "printed"]
    assert farm.plate("plate-b").state == "cancelled"  # sliced, not sent: dropped


def test_a_part_sent_elsewhere_meanwhile_is_logged_as_printed_twice(farm: Farm) -> None:
    job = farm.submit(quantity=1).job
    part_id = f"{job.id}-0001"
    farm.plan(("mk4-1", [part_id]), plate_ids=["plate-a"])
    farm.print_plate("mk4-1", "plate-a")
    farm.printer("mk4-1", PrinterStatus.OFFLINE)
    lc.interrupt_printer(farm.session, "mk4-1")
    farm.commit()
    farm.plan(("mk4-2", [part_id]), plate_ids=["plate-b"])
    farm.print_plate("mk4-2", "plate-b")
    farm.agent("mk4-1", EventKind.PLATE_FINISHED, "plate-a")
    assert farm.part(part_id).state == "printing" and farm.part(part_id).plate_id == "plate-b"
    assert "part.printed_twice" in [event.kind for event in farm.events("part", part_id)]


def test_only_a_plate_on_a_printer_can_be_interrupted(farm: Farm) -> None:
    job = farm.submit(quantity=1).job
    farm.plan(("mk4-1", [f"{job.id}-0001"]), plate_ids=["plate-a"])
    before = farm.event_count()
    with pytest.raises(lc.LifecycleError, match="plate plate-a is planned; only a dispatched"):
        lc.interrupt_plate(farm.session, "plate-a")
    farm.session.rollback()
    assert farm.event_count() == before


def test_an_agents_last_will_marks_its_printer_offline(farm: Farm) -> None:
    will = offline_will(agent_version="test", run_id="run1", connection=1, at=farm.now())
    lc.record_printer_state(farm.session, "hackspace", "mk4-1", will)
    farm.commit()
    printer = farm.get_printer("mk4-1")
    assert (printer.state, printer.state_seq) == ("offline", will.sequence)
    farm.printer("mk4-1")  # a later state of the same connection is older than the will
    assert farm.get_printer("mk4-1").state == "offline"
    reconnected = will.model_copy(
        update={"state": PrinterStatus.IDLE, "connection": 2, "sequence": 1}
    )
    lc.record_printer_state(farm.session, "hackspace", "mk4-1", reconnected)
    farm.commit()
    assert farm.get_printer("mk4-1").state == "idle"
