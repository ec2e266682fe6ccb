"""Plans become plates, plates are sliced and claimed for dispatch; a printer takes its next
plate only once staff confirmed its bed clear."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from controller import lifecycle as lc
from controller.db import new_session
from controller.db.tables import PlatePart
from protocol.messages.printer import EventKind, PrinterStatus
from protocol.messages.staff import StaffBedCleared, StaffSpoolLoaded
from tests.controller.conftest import Farm


def parts_of(job_id: str, *indexes: int) -> list[str]:
    return [f"{job_id}-{index:04d}" for index in indexes]


def test_a_plan_puts_parts_on_planned_plates(farm: Farm) -> None:
    job = farm.submit(quantity=3).job
    outcome = farm.plan(
        ("mk4-1", parts_of(job.id, 1, 2)),
        ("mk4-2", parts_of(job.id, 3)),
        plate_ids=["plate-a", "plate-b"],
    )
    assert outcome.plates_to_slice == ["plate-a", "plate-b"]
    assert farm.part_states(job.id) == ["planned"] * 3
    assert farm.part(f"{job.id}-0003").plate_id == "plate-b"
    assert lc.job_status(farm.session, job.id).state == "planned"


def test_a_new_plan_supersedes_planned_plates_and_returns_parts_it_leaves_out(farm: Farm) -> None:
    job = farm.submit(quantity=3).job
    farm.plan(
        ("mk4-1", parts_of(job.id, 1, 2)),
        ("mk4-2", parts_of(job.id, 3)),
        plate_ids=["plate-a", "plate-b"],
    )
    farm.plan(("mk4-2", parts_of(job.id, 1)), plate_ids=["plate-c"])
    assert farm.plate("plate-a").state == "cancelled"
    assert farm.plate("plate-b").state == "cancelled"
    assert farm.part_states(job.id) == ["planned", "queued", "queued"]
    assert farm.part(f"{job.id}-0001").plate_id == "plate-c"
    kinds = [event.kind for event in farm.events("plate", "plate-a")]
    assert kinds == ["plate.created", "plate.superseded"]


def test_a_new_plan_may_swap_parts_between_planned_plates(farm: Farm) -> None:
    job = farm.submit(quantity=3).job
    one, two, three = parts_of(job.id, 1, 2, 3)
    farm.plan(("mk4-1", [one, two]), ("mk4-2", [three]), plate_ids=["plate-a", "plate-b"])
    farm.plan(("mk4-1", [three]), ("mk4-2", [one]), plate_ids=["plate-a", "plate-b"])
    assert (farm.part(one).plate_id, farm.part(three).plate_id) == ("plate-b", "plate-a")
    assert (farm.part(two).state, farm.part(two).plate_id) == ("queued", None)
    placed = {(pl.part_id, pl.plate_id) for pl in farm.session.exec(select(PlatePart))}
    assert placed == {(one, "plate-b"), (three, "plate-a")}
    assert [e.kind for e in farm.events("part", one)][-1] == "part.moved"


def test_a_plan_never_moves_a_locked_plate_or_its_parts(farm: Farm) -> None:
    job = farm.submit(quantity=2).job
    farm.plan(("mk4-1", parts_of(job.id, 1)), plate_ids=["plate-a"])
    farm.slice("plate-a")
    outcome = farm.plan(("mk4-2", parts_of(job.id, 1, 2)), plate_ids=["plate-b"])
    assert farm.plate("plate-a").state == "sliced"
    assert farm.part(f"{job.id}-0001").plate_id == "plate-a"
    assert farm.part(f"{job.id}-0002").plate_id == "plate-b"
    assert any("is sliced, not waiting" in line for line in outcome.skipped)


def test_a_plan_reusing_a_finished_plate_id_gets_a_fresh_one(farm: Farm) -> None:
    job = farm.submit(quantity=2).job
    farm.plan(("mk4-1", parts_of(job.id, 1)), plate_ids=["plate-a"])
    farm.print_plate("mk4-1", "plate-a")
    outcome = farm.plan(("mk4-2", parts_of(job.id, 2)), plate_ids=["plate-a"])
    assert outcome.plates_to_slice != ["plate-a"]
    assert farm.part(f"{job.id}-0002").plate_id == outcome.plates_to_slice[0]
    assert farm.plate("plate-a").state == "printing"


def test_slicing_marks_the_parts_sliced_and_stores_the_program(farm: Farm) -> None:
    job = farm.submit(quantity=1).job
    farm.plan(("mk4-1", parts_of(job.id, 1)), plate_ids=["plate-a"])
    farm.slice("plate-a")
    plate = farm.plate("plate-a")
    assert (plate.state, plate.gcode_sha256, plate.estimated_seconds) == ("sliced", "b" * 64, 2400)
    assert farm.part_states(job.id) == ["sliced"]


def test_a_plate_that_cannot_be_sliced_fails_and_its_parts_count_an_attempt(farm: Farm) -> None:
    job = farm.submit(quantity=1).job
    farm.plan(("mk4-1", parts_of(job.id, 1)), plate_ids=["plate-a"])
    lc.mark_plate_slicing(farm.session, "plate-a")
    lc.mark_plate_slice_failed(farm.session, "plate-a", reason="G1 X400 is outside the bed")
    farm.commit()
    assert farm.plate("plate-a").state == "failed"
    assert (farm.part(f"{job.id}-0001").state, farm.part(f"{job.id}-0001").attempt) == ("queued", 1)


def test_a_plate_cancelled_while_slicing_refuses_its_program(farm: Farm) -> None:
    job = farm.submit(quantity=1).job
    farm.plan(("mk4-1", parts_of(job.id, 1)), plate_ids=["plate-a"])
    lc.mark_plate_slicing(farm.session, "plate-a")
    lc.cancel_job(farm.session, job.id, actor="shop:acme")
    farm.commit()
    with pytest.raises(lc.TransitionRefused):
        lc.mark_plate_sliced(
            farm.session,
            "plate-a",
            gcode_sha256="b" * 64,
            gcode_path="x",
            gcode_bytes=1,
            estimated_seconds=1.0,
        )


def test_dispatch_claims_the_next_plate_and_the_bed(farm: Farm) -> None:
    job = farm.submit(quantity=2).job
    farm.plan(("mk4-1", parts_of(job.id, 1, 2)), plate_ids=["plate-a"])
    farm.slice("plate-a")
    assert [p.id for p in lc.printers_ready_for_dispatch(farm.session)] == ["mk4-1"]
    dispatch = farm.dispatch("mk4-1")
    assert dispatch is not None
    assert (dispatch.plate.id, dispatch.site_id, dispatch.profile_id) == (
        "plate-a",
        "hackspace",
        "prusa-mk4",
    )
    assert dispatch.parts == [
        (f"{job.id}-0001", f"{job.id}-0001"),
        (f"{job.id}-0002", f"{job.id}-0002"),
    ]
    assert farm.part_states(job.id) == ["dispatched", "dispatched"]
    assert farm.get_printer("mk4-1").bed_clear is False
    assert farm.dispatch("mk4-1") is None


def test_the_next_plate_waits_until_the_bed_is_cleared(farm: Farm) -> None:
    job = farm.submit(quantity=2).job
    farm.plan(
        ("mk4-1", parts_of(job.id, 1)),
        ("mk4-1", parts_of(job.id, 2)),
        plate_ids=["plate-a", "plate-b"],
    )
    farm.print_plate("mk4-1", "plate-a")
    farm.slice("plate-b")
    farm.agent("mk4-1", EventKind.PLATE_FINISHED, "plate-a")
    farm.printer("mk4-1", PrinterStatus.AWAITING_BED_CLEAR)
    farm.printer("mk4-1", PrinterStatus.IDLE)  # even an agent saying idle does not open the gate
    assert lc.printers_ready_for_dispatch(farm.session) == []
    farm.printer("mk4-1", PrinterStatus.AWAITING_BED_CLEAR)
    assert farm.dispatch("mk4-1") is None
    reply = farm.staff(StaffBedCleared, printer_id="mk4-1")
    assert reply.accepted, reply.reason
    assert farm.plate("plate-a").state == "cleared"
    assert lc.printers_ready_for_dispatch(farm.session) == []  # the agent still says waiting
    farm.printer("mk4-1", PrinterStatus.IDLE)
    assert [p.id for p in lc.printers_ready_for_dispatch(farm.session)] == ["mk4-1"]
    dispatch = farm.dispatch("mk4-1")
    assert dispatch is not None and dispatch.plate.id == "plate-b"


def test_a_printer_without_the_plates_spool_is_not_ready(farm: Farm) -> None:
    job = farm.submit(quantity=1).job
    farm.plan(("mk4-1", parts_of(job.id, 1)), plate_ids=["plate-a"])
    farm.slice("plate-a")
    farm.staff(StaffSpoolLoaded, printer_id="mk4-1", material="PETG", colour="orange")
    assert lc.printers_ready_for_dispatch(farm.session) == []
    assert farm.dispatch("mk4-1") is None
    farm.staff(StaffSpoolLoaded, printer_id="mk4-1", material="PLA", colour="Black")
    assert farm.dispatch("mk4-1") is not None


def test_a_printer_in_maintenance_or_offline_is_not_ready(farm: Farm) -> None:
    job = farm.submit(quantity=1).job
    farm.plan(("mk4-1", parts_of(job.id, 1)), plate_ids=["plate-a"])
    farm.slice("plate-a")
    farm.printer("mk4-1", PrinterStatus.OFFLINE)
    assert farm.dispatch("mk4-1") is None
    farm.printer("mk4-1", PrinterStatus.IDLE)
    assert [p.id for p in lc.printers_ready_for_dispatch(farm.session)] == ["mk4-1"]


def test_two_controllers_never_dispatch_the_same_plate(farm: Farm, farm_engine: Engine) -> None:
    job = farm.submit(quantity=1).job
    farm.plan(("mk4-1", parts_of(job.id, 1)), plate_ids=["plate-a"])
    farm.slice("plate-a")
    first, second = new_session(farm_engine), new_session(farm_engine)
    try:
        assert lc.claim_plate_for_dispatch(first, "mk4-1") is not None
        if farm_engine.dialect.name == "postgresql":
            # the plate is locked by the first, uncommitted claim: the second skips it
            assert lc.claim_plate_for_dispatch(second, "mk4-1") is None
            second.rollback()
        first.commit()
        assert lc.claim_plate_for_dispatch(second, "mk4-1") is None
        second.commit()
    finally:
        first.close()
        second.close()
    dispatched = [e for e in farm.events("plate", "plate-a") if e.to_state == "dispatched"]
    assert len(dispatched) == 1
