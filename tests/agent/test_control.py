"""Controlling a running plate: pause, resume, cancel, cancel one part, and faults."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from agent.agent import Agent
from agent.backends.simulated import SimulatedPrinter
from agent.config import FaultSettings
from agent.journal import printed_objects
from protocol import CancelPart, CancelPlate, EventKind, Pause, Resume
from tests.agent.conftest import TestController, make_plate

pytestmark = pytest.mark.broker

NOW = datetime.now(UTC)


def printing(controller: TestController, plate_id: str) -> None:
    controller.send_plate(make_plate(plate_id))
    controller.wait_event(EventKind.PLATE_STARTED, plate_id)


def test_pause_holds_the_plate_and_resume_finishes_it(
    controller: TestController, start_agent: Callable[..., Agent]
) -> None:
    agent = start_agent()
    controller.wait_state("idle")
    printing(controller, "plate-1")
    controller.publish(Pause(command_id="pause-1", issued_at=NOW))
    controller.wait_event(EventKind.PAUSED, "plate-1", "pause-1")
    held = controller.wait_state("paused")
    assert held.plate_id == "plate-1"
    seen = len(controller.states)
    controller.wait_for(lambda c: len(c.states) >= seen + 2, "two more states while paused")
    assert controller.states[-1].state.value == "paused"
    assert controller.states[-1].progress == held.progress, "a paused plate made progress"
    controller.publish(Resume(command_id="resume-1", issued_at=NOW))
    controller.wait_event(EventKind.RESUMED, "plate-1", "resume-1")
    controller.wait_event(EventKind.PLATE_FINISHED, "plate-1")
    assert len(printed_objects(agent.journal.entries())) == 3


def test_resume_without_a_paused_plate_is_refused(
    controller: TestController, start_agent: Callable[..., Agent]
) -> None:
    start_agent()
    controller.wait_state("idle")
    controller.publish(Resume(command_id="resume-x", issued_at=NOW))
    refused = controller.wait_event(EventKind.COMMAND_REFUSED, command_id="resume-x")
    assert "cannot resume" in refused.details


def test_cancel_stops_the_plate_and_reports_its_parts(
    controller: TestController, start_agent: Callable[..., Agent]
) -> None:
    agent = start_agent()
    controller.wait_state("idle")
    printing(controller, "plate-1")
    controller.publish(CancelPlate(command_id="cancel-1", issued_at=NOW, plate_id="plate-1"))
    cancelled = controller.wait_event(EventKind.PLATE_CANCELLED, "plate-1", "cancel-1")
    assert set(cancelled.part_ids) == {"plate-1-part0", "plate-1-part1", "plate-1-part2"}
    assert controller.find(EventKind.PLATE_FINISHED, "plate-1") is None
    assert printed_objects(agent.journal.entries()) == []
    controller.wait_state("awaiting_bed_clear")


def test_cancelled_part_is_not_printed_and_its_neighbours_are(
    controller: TestController, start_agent: Callable[..., Agent]
) -> None:
    agent = start_agent()
    controller.wait_state("idle")
    printing(controller, "plate-1")
    controller.publish(
        CancelPart(command_id="cp-1", issued_at=NOW, plate_id="plate-1", part_id="plate-1-part1")
    )
    cancelled = controller.wait_event(EventKind.PART_CANCELLED, "plate-1", "cp-1")
    assert cancelled.part_ids == ("plate-1-part1",)
    finished = controller.wait_event(EventKind.PLATE_FINISHED, "plate-1")
    assert finished.part_ids == ("plate-1-part1",)
    assert printed_objects(agent.journal.entries()) == [
        ("plate-1", "plate-1-obj0"),
        ("plate-1", "plate-1-obj2"),
    ]


def test_cancelling_a_part_of_another_plate_is_refused(
    controller: TestController, start_agent: Callable[..., Agent]
) -> None:
    start_agent()
    controller.wait_state("idle")
    printing(controller, "plate-1")
    controller.publish(
        CancelPart(command_id="cp-x", issued_at=NOW, plate_id="plate-9", part_id="plate-9-part0")
    )
    refused = controller.wait_event(EventKind.COMMAND_REFUSED, command_id="cp-x")
    assert "plate-9 is not on the printer" in refused.details


def test_plate_failure_reports_every_part_lost(
    controller: TestController, start_agent: Callable[..., Agent]
) -> None:
    agent = start_agent(faults=[FaultSettings(kind="plate_failure", at_progress=0.5, plates=1)])
    controller.wait_state("idle")
    printing(controller, "plate-1")
    failed = controller.wait_event(EventKind.PLATE_FAILED, "plate-1")
    assert set(failed.part_ids) == {"plate-1-part0", "plate-1-part1", "plate-1-part2"}
    assert "came loose" in failed.details
    assert printed_objects(agent.journal.entries()) == []
    controller.wait_state("awaiting_bed_clear")


def test_part_failure_reports_only_that_part(
    controller: TestController, start_agent: Callable[..., Agent]
) -> None:
    agent = start_agent()
    assert isinstance(agent.backend, SimulatedPrinter)
    agent.backend.inject(
        FaultSettings(kind="part_failure", at_progress=0.3, object="plate-1-obj2", plates=1)
    )
    controller.wait_state("idle")
    printing(controller, "plate-1")
    lost = controller.wait_event(EventKind.PART_FAILED, "plate-1")
    assert lost.part_ids == ("plate-1-part2",)
    finished = controller.wait_event(EventKind.PLATE_FINISHED, "plate-1")
    assert finished.part_ids == ("plate-1-part2",)
    assert len(printed_objects(agent.journal.entries())) == 2


def test_thermal_error_fails_the_plate_and_puts_the_printer_in_error(
    controller: TestController, start_agent: Callable[..., Agent]
) -> None:
    start_agent(faults=[FaultSettings(kind="thermal_error", at_progress=0.2)])
    controller.wait_state("idle")
    printing(controller, "plate-1")
    controller.wait_event(EventKind.ERROR, "plate-1")
    controller.wait_event(EventKind.PLATE_FAILED, "plate-1")
    assert "thermal runaway" in controller.wait_state("error").error
