"""`makerfarm demo --headless --until-done` as a newcomer runs it: nothing installed but the
project (embedded broker), a few jobs, exit 0 with a summary once every job is done."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_headless_demo_prints_progress_and_exits_once_every_job_is_done(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "makerfarm_cli",
            "demo",
            "--headless",
            "--until-done",
            "--jobs",
            "5",
            "--time-limit",
            "150",
            "--data",
            str(tmp_path / "demo"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert any("embedded broker, loopback only" in line for line in lines)
    assert any("staff are simulated" in line for line in lines)
    assert any(line.startswith("[") and "parts printed" in line for line in lines)
    assert "5/5 jobs done" in lines[-1]
    journals = list((tmp_path / "demo" / "agents").glob("*/journal.jsonl"))
    assert journals, "the simulated printers kept no journal"
