"""The agent's memory: what its start-up loads, and what it leaves for later.

The figures themselves come from bench/agent_bench.py; these tests keep the agent from
loading, at start-up, modules it does not use (each costs a Pi memory for as long as
the agent runs), while the protocol's public names stay complete."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Loaded by the agent only when it needs them, or never.
NOT_AT_START = (
    "protocol.messages.fleet",  # the controller's and the TUI's messages
    "protocol.messages.jobs",
    "protocol.messages.staff",
    "firmware_profiles.gcode",  # the interpreter: when the first plate arrives
    "agent.backends.simulated",  # the other back-ends: when configured
    "agent.backends.moonraker",
    "numpy",
)


def _run(code: str) -> object:
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_the_agent_starts_without_what_it_does_not_use() -> None:
    loaded = _run(
        "import json, sys\n"
        "import agent.cli, agent.backends.marlin\n"
        f"print(json.dumps([m for m in {NOT_AT_START!r} if m in sys.modules]))\n"
    )
    assert loaded == []


def test_the_protocol_names_are_complete_when_read() -> None:
    """MESSAGE_TYPES, MESSAGES_BY_TOPIC_KIND and the lazily imported models are whole on
    first use, in a process that loaded nothing else."""
    lazy = _run(
        "import json, protocol\n"
        "from protocol.inbound import MESSAGES_BY_TOPIC_KIND\n"
        "print(json.dumps([sorted(protocol.MESSAGE_TYPES), len(MESSAGES_BY_TOPIC_KIND),"
        " protocol.StaffPause.__name__, protocol.JobSubmit.__module__]))\n"
    )
    eager = _run(
        "import json\n"
        "from protocol.messages import commands, fleet, jobs, printer, staff\n"
        "from protocol.base import MESSAGE_TYPES\n"
        "print(json.dumps(sorted(MESSAGE_TYPES)))\n"
    )
    assert lazy == [eager, 15, "StaffPause", "protocol.messages.jobs"]
    assert len(eager) >= 30  # type: ignore[arg-type]
