"""The printer's retained state and the Last Will that reports the agent gone."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from agent.agent import Agent
from tests.agent.conftest import TestController
from tests.support.mosquitto import Broker

pytestmark = pytest.mark.broker


def test_state_is_retained_for_late_subscribers(
    mosquitto: Broker, printer: str, controller: TestController, start_agent: Callable[..., Agent]
) -> None:
    start_agent()
    idle = controller.wait_state("idle")
    assert idle.profile_id == "generic-220" and idle.nozzle is not None
    late = TestController(mosquitto, printer)
    late.start()
    try:
        late.wait_state("idle")
    finally:
        late.stop()


def test_will_says_offline_when_the_socket_drops(
    controller: TestController, start_agent: Callable[..., Agent]
) -> None:
    agent = start_agent()
    online = controller.wait_state("idle")
    agent.crash()
    offline = controller.wait_state("offline")
    assert offline.error == "agent disconnected"
    assert offline.run_id == online.run_id and offline.supersedes(online)


def test_clean_stop_leaves_offline_behind(
    controller: TestController, start_agent: Callable[..., Agent]
) -> None:
    agent = start_agent()
    controller.wait_state("idle")
    agent.stop()
    assert controller.wait_state("offline").error == "agent stopped"


def test_states_are_ordered_within_a_run(
    controller: TestController, start_agent: Callable[..., Agent]
) -> None:
    start_agent()
    controller.wait_for(lambda c: len(c.states) >= 3, "three states")
    states = controller.states[:3]
    assert all(later.supersedes(earlier) for earlier, later in itertools.pairwise(states))
