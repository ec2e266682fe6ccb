"""The event log tells a job's whole life: every state change of the job, its parts, its
plate and its printer, in order, with no gaps, and it cannot be rewritten."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from controller.db.tables import Event, Job, Part, Plate, Printer
from protocol.messages.printer import EventKind
from protocol.messages.staff import StaffBedCleared
from tests.controller.conftest import Farm


def chain(events: list[Event]) -> list[str]:
    return [event.to_state for event in events if event.from_state != event.to_state]


def assert_unbroken(events: list[Event], current_state: str) -> None:
    """Each change starts where the previous one ended, from creation to the state now."""
    changes = [event for event in events if event.from_state != event.to_state]
    assert changes[0].from_state is None, "the first event records the creation"
    for previous, event in itertools.pairwise(changes):
        assert event.from_state == previous.to_state, (previous.kind, event.kind)
    assert changes[-1].to_state == current_state


def test_a_jobs_whole_life_is_in_the_event_log(farm: Farm) -> None:
    job = farm.submit(quantity=2).job
    parts = [f"{job.id}-0001", f"{job.id}-0002"]
    farm.plan(("mk4-1", parts), plate_ids=["plate-a"])
    farm.print_plate("mk4-1", "plate-a")
    farm.agent("mk4-1", EventKind.PLATE_FINISHED, "plate-a", part_ids=(parts[1],))
    farm.staff(StaffBedCleared, printer_id="mk4-1")
    farm.plan(("mk4-1", parts[1:]), plate_ids=["plate-b"])
    farm.print_plate("mk4-1", "plate-b")
    farm.agent("mk4-1", EventKind.PLATE_FINISHED, "plate-b")
    farm.staff(StaffBedCleared, printer_id="mk4-1")

    job_events = farm.events("job", job.id)
    assert chain(job_events) == ["received", "accepted", "planned", "printing", "done"]
    assert_unbroken(job_events, "done")
    assert chain(farm.events("part", parts[0])) == [
        "queued",
        "planned",
        "sliced",
        "dispatched",
        "printing",
        "printed",
    ]
    assert chain(farm.events("part", parts[1])) == [
        "queued",
        "planned",
        "sliced",
        "dispatched",
        "printing",
        "failed",
        "queued",
        "planned",
        "sliced",
        "dispatched",
        "printing",
        "printed",
    ]
    for part_id in parts:
        assert_unbroken(farm.events("part", part_id), "printed")
    for plate_id in ("plate-a", "plate-b"):
        assert chain(farm.events("plate", plate_id)) == [
            "planned",
            "slicing",
            "sliced",
            "dispatched",
            "printing",
            "finished",
            "cleared",
        ]
        assert_unbroken(farm.events("plate", plate_id), "cleared")
    received = [e for e in farm.events("plate", "plate-a") if e.kind == "plate.received"]
    assert len(received) == 1
    every = farm.events()
    assert [e.id for e in every] == sorted(e.id for e in every if e.id is not None)
    assert all(a.at <= b.at for a, b in itertools.pairwise(every))


def test_every_entity_ends_in_the_state_its_log_says(farm: Farm) -> None:
    job = farm.submit(quantity=3).job
    farm.plan(("mk4-1", [f"{job.id}-0001", f"{job.id}-0002"]), plate_ids=["plate-a"])
    farm.print_plate("mk4-1", "plate-a")
    farm.agent("mk4-1", EventKind.PLATE_FAILED, "plate-a")
    rows: list[Job | Part | Plate | Printer] = [
        *farm.session.exec(select(Job)),
        *farm.session.exec(select(Part)),
        *farm.session.exec(select(Plate)),
        *farm.session.exec(select(Printer)),
    ]
    assert len(rows) == 1 + 3 + 1 + 2
    for row in rows:
        kind = type(row).__name__.lower()
        assert_unbroken(farm.events(kind, row.id), row.state)


def test_the_log_cannot_be_edited_through_the_orm(farm: Farm) -> None:
    job = farm.submit(quantity=1).job
    (first, *_rest) = farm.events("job", job.id)
    first.actor = "someone else"
    farm.session.add(first)
    with pytest.raises(DBAPIError, match="append-only"):
        farm.session.commit()
    farm.session.rollback()
    farm.session.delete(farm.events("job", job.id)[0])
    with pytest.raises(DBAPIError, match="append-only"):
        farm.session.commit()
