"""The printer keeps printing when the broker is away; nothing reported is lost."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from agent.agent import Agent
from agent.journal import printed_objects
from protocol import EventKind, PrinterEvent
from tests.agent.conftest import TestController, make_plate
from tests.conftest import require_mosquitto
from tests.support.mosquitto import Broker, free_port, run_mosquitto

pytestmark = pytest.mark.broker


class RestartableBroker:
    """A mosquitto that can be stopped and started again on the same port, keeping its
    sessions on disk (so the test controller's subscription survives)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self._running: AbstractContextManager[Broker] | None = None
        self.broker: Broker | None = None

    def start(self) -> Broker:
        self._running = run_mosquitto(
            self.workdir,
            [
                "allow_anonymous true",
                "persistence true",
                f"persistence_location {self.workdir}/",
            ],
            port=self.port,
        )
        self.broker = self._running.__enter__()
        return self.broker

    def stop(self) -> None:
        if self._running is not None:
            self._running.__exit__(None, None, None)
            self._running = None


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[RestartableBroker]:
    require_mosquitto()
    broker = RestartableBroker(tmp_path / "broker")
    broker.start()
    yield broker
    broker.stop()


def distinct_events(controller: TestController, plate_id: str) -> list[PrinterEvent]:
    """The plate's events as the controller applies them: QoS 1 may deliver one twice,
    so repeats of an event id are dropped (as the controller does)."""
    seen: set[str] = set()
    events = []
    for event in controller.events:
        if event.plate_id == plate_id and event.event_id not in seen:
            seen.add(event.event_id)
            events.append(event)
    return events


def assert_plate_story_complete(events: list[PrinterEvent]) -> None:
    """received, started, rising progress, finished: each once and in this order."""
    kinds = [event.kind for event in events]
    assert kinds[:2] == [EventKind.PLATE_RECEIVED, EventKind.PLATE_STARTED], kinds
    assert kinds[-1] is EventKind.PLATE_FINISHED, kinds
    assert set(kinds[2:-1]) <= {EventKind.PROGRESS}, kinds
    progress = [event.progress or 0.0 for event in events[2:-1]]
    assert progress == sorted(set(progress)), f"progress repeated or out of order: {progress}"


def test_print_finishes_while_the_broker_is_down_and_events_follow_in_order(
    restartable: RestartableBroker, printer: str, start_agent: Callable[..., Agent]
) -> None:
    assert restartable.broker is not None
    controller = TestController(restartable.broker, printer, persistent=True)
    controller.start()
    try:
        agent = start_agent(broker=restartable.broker)
        controller.wait_state("idle")
        controller.send_plate(make_plate("plate-1"))
        controller.wait_event(EventKind.PLATE_STARTED, "plate-1")
        restartable.stop()
        finished = agent.journal.wait_for("plate-1", "finished", timeout=30)
        assert finished, "the plate did not finish while the broker was down"
        assert len(agent.outbox) > 0, "events made during the outage wait on disk"
        restartable.start()
        controller.wait_event(EventKind.PLATE_FINISHED, "plate-1")
        assert_plate_story_complete(distinct_events(controller, "plate-1"))
        controller.wait_for(lambda _: len(agent.outbox) == 0, "the outbox to drain")
        assert len(printed_objects(agent.journal.entries())) == 3
    finally:
        controller.stop()


def test_events_left_in_the_outbox_are_sent_after_a_restart(
    restartable: RestartableBroker, printer: str, start_agent: Callable[..., Agent]
) -> None:
    assert restartable.broker is not None
    controller = TestController(restartable.broker, printer, persistent=True)
    controller.start()
    try:
        agent = start_agent(broker=restartable.broker)
        controller.wait_state("idle")
        controller.send_plate(make_plate("plate-1"))
        controller.wait_event(EventKind.PLATE_STARTED, "plate-1")
        restartable.stop()
        assert agent.journal.wait_for("plate-1", "finished", timeout=30)
        unsent = len(agent.outbox)
        assert unsent > 0
        agent.stop()
        restartable.start()
        start_agent(broker=restartable.broker)
        controller.wait_event(EventKind.PLATE_FINISHED, "plate-1")
        assert_plate_story_complete(distinct_events(controller, "plate-1"))
        controller.wait_state("awaiting_bed_clear")
    finally:
        controller.stop()


def test_agent_restart_mid_print_reports_the_plate_interrupted(
    controller: TestController, start_agent: Callable[..., Agent]
) -> None:
    agent = start_agent()
    controller.wait_state("idle")
    controller.send_plate(make_plate("plate-1"))
    controller.wait_event(EventKind.PLATE_STARTED, "plate-1")
    agent.crash()
    start_agent()
    failed = controller.wait_event(EventKind.PLATE_FAILED, "plate-1")
    assert "interrupted" in failed.details and len(failed.part_ids) == 3
    controller.wait_state("awaiting_bed_clear")
