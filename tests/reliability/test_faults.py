"""Fault injection against real parts: Mosquitto with persistence, the controller as its own
process, the real agent with its simulated printer, real slicing.

Each test breaks the farm one way while jobs flow, then checks the issue's four outcomes
from independent evidence (`tests.reliability.evidence`): every accepted job completes,
every part printed exactly once (the printers' own journals), no plate started on an
uncleared bed, and the event log consistent. The scenarios live in
`tests.reliability.scenarios`; `bench/fault_bench.py` runs them with more trials and
bigger flows.

The controller kills: 20 kill points drawn from one seed, spread over one 200-job flow
(the bench runs 20 separate flows, one per seed).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import require_mosquitto
from tests.reliability.scenarios import (
    Trial,
    agent_gone,
    agent_kills,
    broker_restarts,
    controller_kills,
    duplicates,
    site_cut_off,
)

pytestmark = pytest.mark.broker

SEED = 9
SMALL_FLOW = 12  # jobs


@pytest.fixture(autouse=True)
def _mosquitto() -> None:
    require_mosquitto()


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'farm.db'}"


def _assert_clean(trial: Trial, jobs: int) -> None:
    verdict = trial.verdict
    assert verdict.violations == [], "\n".join(verdict.violations[:30] + trial.notes)
    assert verdict.accepted == jobs
    assert verdict.completed == jobs
    assert verdict.parts_printed == verdict.parts_expected > 0
    assert verdict.duplicates == 0
    assert verdict.events_checked > 0


@pytest.mark.timeout(600)
def test_controller_killed_at_20_seeded_points_while_200_jobs_flow(tmp_path: Path) -> None:
    trial = controller_kills(tmp_path, _sqlite(tmp_path), SEED, kills=20, jobs=200)
    _assert_clean(trial, 200)
    assert len(trial.restart_s) == 20


@pytest.mark.timeout(300)
def test_broker_restarted_mid_run_loses_nothing(tmp_path: Path) -> None:
    trial = broker_restarts(tmp_path, _sqlite(tmp_path), SEED, restarts=1, jobs=SMALL_FLOW)
    _assert_clean(trial, SMALL_FLOW)
    assert len(trial.recovery_s) == 1, trial.notes


@pytest.mark.timeout(300)
def test_agent_killed_mid_print_fails_its_plate_and_the_parts_print_once(
    tmp_path: Path,
) -> None:
    trial = agent_kills(tmp_path, _sqlite(tmp_path), SEED, kills=1, jobs=SMALL_FLOW)
    _assert_clean(trial, SMALL_FLOW)
    assert "killed mid-print: pl-" in " ".join(trial.notes)


@pytest.mark.timeout(300)
def test_a_site_cut_off_keeps_printing_and_prints_nothing_twice(tmp_path: Path) -> None:
    trial = site_cut_off(tmp_path, _sqlite(tmp_path), SEED, cut_s=8.0, jobs=SMALL_FLOW)
    _assert_clean(trial, SMALL_FLOW)


@pytest.mark.timeout(300)
def test_every_message_delivered_twice_changes_nothing(tmp_path: Path) -> None:
    trial = duplicates(tmp_path, _sqlite(tmp_path), SEED, jobs=SMALL_FLOW)
    _assert_clean(trial, SMALL_FLOW)


@pytest.mark.timeout(300)
def test_an_agent_gone_past_its_grace_across_a_controller_kill(tmp_path: Path) -> None:
    """The offline timer is in the database: the plate is interrupted by the restarted
    controller, its parts print elsewhere, and the agent's late return prints nothing twice."""
    trial = agent_gone(tmp_path, _sqlite(tmp_path), SEED, grace_s=3.0, jobs=SMALL_FLOW)
    _assert_clean(trial, SMALL_FLOW)
