"""`makerfarm agent`: example config, systemd unit, and configuration errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import makerfarm_cli
from agent.config import parse_config


def test_example_config_printed_by_the_cli_parses(capsys: pytest.CaptureFixture[str]) -> None:
    assert makerfarm_cli.main(["agent", "--print-example-config"]) == 0
    config = parse_config(capsys.readouterr().out)
    assert config.profile == "generic-220"


def test_systemd_unit_runs_the_agent_with_the_given_config(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (
        makerfarm_cli.main(["agent", "--config", "/etc/makerfarm/a.toml", "--print-systemd-unit"])
        == 0
    )
    unit = capsys.readouterr().out
    assert "agent --config /etc/makerfarm/a.toml" in unit
    assert "SupplementaryGroups=dialout" in unit and "Restart=always" in unit
    assert "[Install]" in unit
    assert "Environment=MALLOC_ARENA_MAX=2" in unit


def test_a_bad_config_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(
        'site = "lab"\nprinter = "p1"\nprofile = "generic-220"\n[backend]\nspeed = -3\n'
    )
    assert makerfarm_cli.main(["agent", "--config", str(config)]) == 2
    assert "backend.speed" in capsys.readouterr().err


def test_check_loads_the_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(
        'site = "lab"\nprinter = "p1"\nprofile = "generic-220"\n'
        f'spool_dir = "{tmp_path / "spool"}"\n'
    )
    assert makerfarm_cli.main(["agent", "--config", str(config), "--check"]) == 0
    assert "OK" in capsys.readouterr().out
    config.write_text('site = "lab"\nprinter = "p1"\nprofile = "no-such-printer"\n')
    assert makerfarm_cli.main(["agent", "--config", str(config), "--check"]) == 2
    assert "no-such-printer" in capsys.readouterr().err
