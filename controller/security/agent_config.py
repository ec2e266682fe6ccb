"""The TOML configuration file of one printer's agent, written by `makerfarm provision`.

It follows the agent's own format (`agent/config.py`, `makerfarm agent
--print-example-config`): the printer's site, id and profile, and the broker login made
for it. The file holds the agent's key, so it is written readable by its owner only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SPOOL_DIR = "/var/lib/makerfarm/spool"


@dataclass(frozen=True)
class AgentLogin:
    site: str
    printer: str
    profile: str
    broker_url: str
    username: str
    password: str
    ca_file: str | None = None
    spool_dir: str = DEFAULT_SPOOL_DIR


def _toml(value: str) -> str:
    # A TOML basic string: JSON's escapes are a subset TOML reads the same way.
    return json.dumps(value, ensure_ascii=False)


def agent_config_text(login: AgentLogin) -> str:
    lines = [
        f"# makerfarm agent for printer {login.printer} at site {login.site}",
        "# written by `makerfarm provision`; it holds this agent's key: keep it private",
        "# (`makerfarm agent --print-example-config` documents every other key)",
        "",
        f"site = {_toml(login.site)}",
        f"printer = {_toml(login.printer)}",
        f"profile = {_toml(login.profile)}",
        f"spool_dir = {_toml(login.spool_dir)}",
        "",
        "[broker]",
        f"url = {_toml(login.broker_url)}",
        f"username = {_toml(login.username)}",
        f"password = {_toml(login.password)}",
    ]
    if login.ca_file:
        lines.append(f"ca_file = {_toml(login.ca_file)}")
    lines += ["", "[backend]", 'kind = "simulated"  # marlin or moonraker for a real printer', ""]
    return "\n".join(lines)


def write_agent_config(path: Path, login: AgentLogin) -> None:
    """Write the file with mode 0600 (it holds a key), replacing one that is there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(agent_config_text(login))
    os.replace(temporary, path)
