"""The interpreter's hostile G-code corpus sent straight to an agent, the controller bypassed:
a run_plate and its G-code blob published on the printer's own cmd and gcode topics. Each
plate is refused with the safety check's reason for its line, and nothing is run: the
simulated printer's journal stays empty and the printer stays idle."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.agent import Agent
from firmware_profiles.gcode import Severity, analyze_and_check
from protocol import EventKind
from tests.agent.conftest import TestController, agent_config, make_plate
from tests.firmware_profiles.hostile.corpus import Case, cases, profile_for
from tests.support.mosquitto import Broker

CASES = cases()
PROFILES = sorted({case.profile_id for case in CASES})


@pytest.fixture(params=PROFILES)
def profile_id(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def agent_and_controller(
    own_mosquitto: Broker, tmp_path: Path, profile_id: str
) -> Iterator[tuple[Agent, TestController]]:
    # A broker of its own: the agents' retained states must not reach other tests' farms.
    mosquitto = own_mosquitto
    printer = f"hostile-{profile_id}"
    controller = TestController(mosquitto, printer)
    controller.start()
    config = agent_config(mosquitto, tmp_path / "spool", printer)
    agent = Agent(
        config.model_copy(update={"profile": profile_id}),
        profile=profile_for(profile_id),
        blob_wait_s=5.0,
    )
    agent.start()
    try:
        yield agent, controller
    finally:
        agent.stop()
        controller.stop()


def expected_reasons(case: Case) -> list[str]:
    """The interpreter's words for the errors the corpus says this program has."""
    _, violations = analyze_and_check(
        case.text.encode(), profile_for(case.profile_id), case.material
    )
    return [
        v.reason
        for v in violations
        if v.severity is Severity.ERROR and (v.code, v.line) in case.expected
    ]


def test_every_hostile_program_is_refused_by_the_agent_itself_and_never_run(
    agent_and_controller: tuple[Agent, TestController], profile_id: str
) -> None:
    agent, controller = agent_and_controller
    controller.wait_state("idle")
    mine = [case for case in CASES if case.profile_id == profile_id]
    plates = {}
    for case in mine:
        plate_id = case.name.replace("_", "-")[:60]
        plates[plate_id] = case
        plate = make_plate(plate_id, gcode=case.text.encode(), material=case.material)
        plate.command = plate.command.model_copy(update={"profile_id": profile_id})
        controller.send_plate(plate)
    for plate_id, case in plates.items():
        refused = controller.wait_event(EventKind.PLATE_REJECTED, plate_id)
        reasons = expected_reasons(case)
        assert reasons, f"{case.name}: the interpreter finds none of its expected errors"
        assert "fails the safety check" in refused.details, (case.name, refused.details)
        assert any(reason in refused.details for reason in reasons), (
            case.name,
            refused.details,
            reasons,
        )
    assert not [e for e in controller.events if e.kind is EventKind.PLATE_STARTED]
    assert agent.journal.entries() == []
    assert controller.wait_state("idle").plate_id is None
