"""Several agents in one process (the demo runs nine): no shared state between them."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.agent import Agent
from agent.journal import printed_objects
from protocol import EventKind
from tests.agent.conftest import TestController, agent_config, make_plate, plate_gcode, speed_for
from tests.support.mosquitto import Broker

pytestmark = pytest.mark.broker


def test_three_agents_in_one_process_each_print_their_own_plate(
    mosquitto: Broker, printer: str, tmp_path: Path
) -> None:
    printers = [f"{printer}-{n}" for n in range(3)]
    speed = speed_for(plate_gcode(["a", "b", "c"]))
    controllers = [TestController(mosquitto, name) for name in printers]
    agents = [
        Agent(agent_config(mosquitto, tmp_path / name, name, speed=speed)) for name in printers
    ]
    try:
        for controller, agent in zip(controllers, agents, strict=True):
            controller.start()
            agent.start()
        for controller in controllers:
            controller.wait_state("idle")
        for controller, name in zip(controllers, printers, strict=True):
            controller.send_plate(make_plate(f"plate-{name}"))
        for controller, name in zip(controllers, printers, strict=True):
            controller.wait_event(EventKind.PLATE_FINISHED, f"plate-{name}")
            assert {event.plate_id for event in controller.events} == {f"plate-{name}"}
        for agent, name in zip(agents, printers, strict=True):
            assert {plate for plate, _ in printed_objects(agent.journal.entries())} == {
                f"plate-{name}"
            }
    finally:
        for agent in agents:
            agent.stop()
        for controller in controllers:
            controller.stop()
