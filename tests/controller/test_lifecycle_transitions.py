"""The state machines: every state has a row, allowed moves write one event, refused ones
change nothing and write nothing."""

from __future__ import annotations

import pytest
from sqlmodel import select

from controller import lifecycle as lc
from controller.db.tables import Event, Plate
from controller.lifecycle.states import (
    JOB_TRANSITIONS,
    PART_TRANSITIONS,
    PLATE_TRANSITIONS,
    PRINTER_TRANSITIONS,
    JobState,
    PartState,
    PlateState,
    PrinterStatus,
    wire_part_state,
    wire_plate_state,
)
from tests.controller.conftest import Farm


@pytest.mark.parametrize(
    ("states", "table"),
    [
        (JobState, JOB_TRANSITIONS),
        (PartState, PART_TRANSITIONS),
        (PlateState, PLATE_TRANSITIONS),
        (PrinterStatus, PRINTER_TRANSITIONS),
    ],
)
def test_every_state_has_a_row_and_targets_only_known_states(states, table) -> None:
    assert set(table) == set(states)
    for targets in table.values():
        assert targets <= set(states)


def test_final_states_lead_nowhere() -> None:
    assert PLATE_TRANSITIONS[PlateState.FAILED] == frozenset()
    assert PLATE_TRANSITIONS[PlateState.CANCELLED] == frozenset()
    assert JOB_TRANSITIONS[JobState.CANCELLED] == frozenset()


def test_every_inner_state_has_a_wire_state() -> None:
    assert {wire_part_state(state) for state in PartState}
    assert wire_plate_state(PlateState.FINISHED) == "awaiting_bed_clear"
    assert wire_plate_state(PlateState.DISPATCHED) == "sent"
    assert wire_part_state(PartState.SLICED) == "planned"


def test_an_allowed_transition_changes_the_state_and_returns_its_event(farm: Farm) -> None:
    job = farm.submit().job
    farm.plan(("mk4-1", [f"{job.id}-0001"]), plate_ids=["plate-a"])
    plate = farm.plate("plate-a")
    version = plate.version
    event = lc.transition(
        farm.session, plate, PlateState.SLICING, actor="slicer", details={"worker": 1}
    )
    farm.commit()
    assert farm.plate("plate-a").state == "slicing"
    assert farm.plate("plate-a").version == version + 1
    assert (event.entity_kind, event.entity_id, event.from_state, event.to_state) == (
        "plate",
        "plate-a",
        "planned",
        "slicing",
    )
    assert event.id is not None and event.details == {"worker": 1} and event.actor == "slicer"


def test_a_refused_transition_changes_nothing_and_writes_no_event(farm: Farm) -> None:
    job = farm.submit().job
    farm.plan(("mk4-1", [f"{job.id}-0001"]), plate_ids=["plate-a"])
    before = farm.event_count()
    plate = farm.plate("plate-a")
    with pytest.raises(
        lc.TransitionRefused, match="plate plate-a is planned and cannot become printing"
    ):
        lc.transition(farm.session, plate, PlateState.PRINTING, actor="test")
    farm.commit()
    assert farm.plate("plate-a").state == "planned"
    assert farm.event_count() == before
    assert farm.session.exec(select(Plate).where(Plate.state == "printing")).first() is None


def test_the_refusal_says_where_the_entity_may_go(farm: Farm) -> None:
    job = farm.submit().job
    with pytest.raises(lc.TransitionRefused) as refused:
        lc.transition(
            farm.session, farm.part(f"{job.id}-0001"), PartState.DISPATCHED.value, actor="test"
        )
    assert refused.value.reason == (
        f"part {job.id}-0001 is queued and cannot become dispatched "
        "(from queued it may become: cancelled, planned, printed, printing)"
    )
    farm.session.rollback()
    assert farm.session.exec(select(Event).where(Event.to_state == "dispatched")).first() is None
