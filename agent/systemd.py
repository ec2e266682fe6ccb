"""The systemd unit the project ships for the agent (`makerfarm agent --print-systemd-unit`)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

UNIT_TEMPLATE = """\
# makerfarm agent: runs a printer of the farm. Install with:
#   sudo useradd --system --create-home --groups dialout makerfarm
#   sudo install -d -o makerfarm -g makerfarm /var/lib/makerfarm/spool
#   makerfarm agent --print-systemd-unit | sudo tee /etc/systemd/system/makerfarm-agent.service
#   sudo systemctl daemon-reload && sudo systemctl enable --now makerfarm-agent
# Logs: journalctl -u makerfarm-agent -f
[Unit]
Description=makerfarm agent (printer {printer_hint})
Documentation=https://github.com/makerfarm/makerfarm#running-an-agent-beside-a-printer
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User=makerfarm
Group=makerfarm
SupplementaryGroups=dialout
ExecStart={executable} agent --config {config}
Restart=always
RestartSec=5
# The agent leaves an `offline` state behind and keeps unsent events on disk.
KillSignal=SIGTERM
TimeoutStopSec=20
StateDirectory=makerfarm
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
PrivateTmp=true
ReadWritePaths=/var/lib/makerfarm
Environment=PYTHONUNBUFFERED=1
# Two malloc arenas instead of eight per core for the agent's few threads: less memory
# on a Pi (bench/agent_bench.py measures the agent with and without).
Environment=MALLOC_ARENA_MAX=2

[Install]
WantedBy=multi-user.target
"""


def makerfarm_executable() -> str:
    """The `makerfarm` script beside this Python (a venv's bin/), else the one on PATH."""
    beside = Path(sys.executable).parent / "makerfarm"
    if beside.exists():
        return str(beside)
    return shutil.which("makerfarm") or "/usr/local/bin/makerfarm"


def systemd_unit(config: Path, printer_hint: str = "from the config") -> str:
    return UNIT_TEMPLATE.format(
        executable=makerfarm_executable(), config=config, printer_hint=printer_hint
    )
