"""`makerfarm sim`: a farm of swarm printers, the controller and shops, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.mosquitto import Broker

pytestmark = pytest.mark.broker
REPO = Path(__file__).resolve().parents[2]


def test_sim_prints_every_job_of_its_shops_and_reports_the_figures(
    mosquitto: Broker, tmp_path: Path
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "makerfarm_cli",
            "sim",
            "--sites",
            "2",
            "--printers",
            "3",
            "--jobs",
            "6",
            "--speed",
            "2000",
            "--duration",
            "90",
            "--broker",
            mosquitto.url,
            "--data",
            str(tmp_path),
            "--json",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["jobs"]["done"] == report["jobs"]["submitted"] == 6
    assert report["jobs"]["parts_printed"] == report["jobs"]["parts"]
    # The swarm printed exactly the parts the shops were told about, once each.
    assert report["printers"]["parts_printed"] == report["jobs"]["parts"]
    # No plate was sent to a printer whose bed was not confirmed clear (the swarm refuses it).
    assert report["printers"]["plates_rejected"] == 0
    assert report["latency"]["submit_to_done_s"]["n"] == 6
    assert report["farm"]["printers"] == 6


def test_sim_refuses_a_farm_without_printers() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "makerfarm_cli", "sim", "--printers", "0"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--printers" in result.stderr
