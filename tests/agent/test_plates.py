"""Receiving plates: stored, verified, checked, run once, and never before the bed is clear."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from agent.agent import Agent
from agent.journal import printed_objects
from protocol import BedCleared, EventKind
from tests.agent.conftest import TestController, make_plate, plate_gcode

pytestmark = pytest.mark.broker

ORDER = [
    EventKind.PLATE_RECEIVED,
    EventKind.PLATE_STARTED,
    EventKind.PROGRESS,
    EventKind.PLATE_FINISHED,
]


def bed_cleared(command_id: str) -> BedCleared:
    return BedCleared(command_id=command_id, issued_at=datetime.now(UTC))


def test_valid_plate_is_stored_verified_and_printed_once(
    controller: TestController, start_agent: Callable[..., Agent]
) -> None:
    agent = start_agent()
    controller.wait_state("idle")
    plate = make_plate("plate-1")
    controller.send_plate(plate)
    finished = controller.wait_event(EventKind.PLATE_FINISHED, "plate-1")
    kinds = controller.kinds("plate-1")
    assert [kind for kind in kinds if kind in ORDER and kind is not EventKind.PROGRESS] == [
        EventKind.PLATE_RECEIVED,
        EventKind.PLATE_STARTED,
        EventKind.PLATE_FINISHED,
    ]
    assert kinds.index(EventKind.PROGRESS) > kinds.index(EventKind.PLATE_STARTED)
    assert finished.part_ids == ()  # nothing lost
    received = controller.find(EventKind.PLATE_RECEIVED, "plate-1")
    assert received is not None and received.command_id == plate.command.command_id
    assert printed_objects(agent.journal.entries()) == [
        ("plate-1", label) for label in ("plate-1-obj0", "plate-1-obj1", "plate-1-obj2")
    ]
    state = controller.wait_state("awaiting_bed_clear")
    assert state.plate_id == "plate-1"


def test_blob_with_a_wrong_sha256_is_refused(
    controller: TestController, start_agent: Callable[..., Agent]
) -> None:
    agent = start_agent()
    controller.wait_state("idle")
    plate = make_plate("plate-bad-hash")
    tampered = plate.blob[:20] + bytes([plate.blob[20] ^ 0xFF]) + plate.blob[21:]
    controller.send_plate(plate, blob=tampered)
    rejected = controller.wait_event(EventKind.PLATE_REJECTED, "plate-bad-hash")
    assert "hash" in rejected.details
    assert agent.journal.entries() == []


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ("M500", "M500"),
        ("M104 S300", "300"),
    ],
)
def test_hostile_gcode_is_refused_with_the_reason_and_never_run(
    controller: TestController, start_agent: Callable[..., Agent], extra: str, reason: str
) -> None:
    agent = start_agent()
    controller.wait_state("idle")
    plate = make_plate(
        "plate-hostile",
        gcode=plate_gcode(
            ["plate-hostile-obj0", "plate-hostile-obj1", "plate-hostile-obj2"], extra=extra
        ),
    )
    controller.send_plate(plate)
    rejected = controller.wait_event(EventKind.PLATE_REJECTED, "plate-hostile")
    assert "safety check" in rejected.details and reason in rejected.details
    assert rejected.command_id == plate.command.command_id
    assert agent.journal.entries() == []
    assert controller.wait_state("idle").plate_id is None


def test_a_blob_that_is_not_gcode_is_refused_with_the_reason(
    controller: TestController, start_agent: Callable[..., Agent]
) -> None:
    agent = start_agent()
    controller.wait_state("idle")
    junk = plate_gcode(["plate-junk-obj0"]) + b"\x00" * 64
    plate = make_plate("plate-junk", parts=1, gcode=junk)
    controller.send_plate(plate)
    rejected = controller.wait_event(EventKind.PLATE_REJECTED, "plate-junk")
    assert rejected.details.startswith("the G-code cannot be read: binary data: a NUL byte")
    assert agent.journal.entries() == []
    assert controller.wait_state("idle").plate_id is None


def test_resent_plate_is_acknowledged_not_run_again(
    controller: TestController, start_agent: Callable[..., Agent]
) -> None:
    agent = start_agent()
    controller.wait_state("idle")
    plate = make_plate("plate-1")
    controller.send_plate(plate)
    controller.wait_event(EventKind.PLATE_FINISHED, "plate-1")
    again = make_plate("plate-1", command_id="cmd-again")
    controller.send_plate(again)
    answer = controller.wait_event(EventKind.PLATE_RECEIVED, "plate-1", "cmd-again")
    assert "not run again" in answer.details
    assert [e.outcome for e in agent.journal.entries()] == ["started", "finished"]


def test_next_plate_waits_until_bed_is_cleared(
    controller: TestController, start_agent: Callable[..., Agent]
) -> None:
    agent = start_agent()
    controller.wait_state("idle")
    controller.send_plate(make_plate("plate-1"))
    controller.wait_event(EventKind.PLATE_FINISHED, "plate-1")
    controller.send_plate(make_plate("plate-2"))
    refused = controller.wait_event(EventKind.PLATE_REJECTED, "plate-2")
    assert "bed is not confirmed clear" in refused.details
    controller.publish(bed_cleared("clear-1"))
    controller.wait_event(EventKind.COMMAND_ACCEPTED, command_id="clear-1")
    controller.wait_state("idle")
    controller.send_plate(make_plate("plate-2", command_id="cmd-plate-2-again"))
    controller.wait_event(EventKind.PLATE_FINISHED, "plate-2")
    assert [plate for plate, _ in printed_objects(agent.journal.entries())] == ["plate-1"] * 3 + [
        "plate-2"
    ] * 3


def test_plate_for_another_profile_or_material_is_refused(
    controller: TestController, start_agent: Callable[..., Agent]
) -> None:
    start_agent()
    controller.wait_state("idle")
    controller.send_plate(make_plate("plate-abs", material="ABS"))
    rejected = controller.wait_event(EventKind.PLATE_REJECTED, "plate-abs")
    assert "no material 'ABS'" in rejected.details


def test_run_plate_without_its_blob_is_refused_after_a_bounded_wait(
    controller: TestController, start_agent: Callable[..., Agent]
) -> None:
    agent = start_agent()
    controller.wait_state("idle")
    plate = make_plate("plate-no-blob")
    controller.publish(plate.command)
    rejected = controller.wait_event(EventKind.PLATE_REJECTED, "plate-no-blob")
    assert "no G-code blob" in rejected.details
    assert agent.journal.entries() == []


def test_a_late_repeat_of_an_earlier_bed_clear_does_not_clear_the_next_plates_bed(
    controller: TestController, start_agent: Callable[..., Agent]
) -> None:
    """A QoS 1 redelivery (or the controller's repeat after a crash) of the clear for
    plate-1 arrives after plate-2 printed: plate-2 is still on the bed."""
    agent = start_agent()
    controller.wait_state("idle")
    controller.send_plate(make_plate("plate-1"))
    controller.wait_event(EventKind.PLATE_FINISHED, "plate-1")
    clear_1 = BedCleared(command_id="clear-1", issued_at=datetime.now(UTC), plate_id="plate-1")
    controller.publish(clear_1)
    controller.wait_event(EventKind.COMMAND_ACCEPTED, command_id="clear-1")
    controller.wait_state("idle")
    controller.send_plate(make_plate("plate-2"))
    controller.wait_event(EventKind.PLATE_FINISHED, "plate-2")
    controller.publish(clear_1)  # the same command again, late
    refused = controller.wait_event(EventKind.COMMAND_REFUSED, command_id="clear-1")
    assert "plate plate-2 was printed since" in refused.details
    assert controller.wait_state("awaiting_bed_clear").plate_id == "plate-2"
    controller.send_plate(make_plate("plate-3"))
    rejected = controller.wait_event(EventKind.PLATE_REJECTED, "plate-3")
    assert "bed is not confirmed clear" in rejected.details
    assert [e.plate_id for e in agent.journal.entries() if e.outcome == "started"] == [
        "plate-1",
        "plate-2",
    ]
    clear_2 = BedCleared(command_id="clear-2", issued_at=datetime.now(UTC), plate_id="plate-2")
    controller.publish(clear_2)
    controller.wait_event(EventKind.COMMAND_ACCEPTED, command_id="clear-2")
    controller.wait_state("idle")
