"""Choosing a real printer in the agent's configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.backends import create_backend
from agent.backends.marlin import MarlinPrinter
from agent.backends.moonraker import MoonrakerPrinter
from agent.config import EXAMPLE_CONFIG, ConfigError, parse_config
from agent.journal import PrintJournal
from firmware_profiles import load_profile

HEAD = 'site = "lab"\nprinter = "p1"\nprofile = "generic-220"\n'


def test_a_marlin_printer_on_a_serial_port(tmp_path: Path) -> None:
    config = parse_config(
        HEAD + '[backend]\nkind = "marlin"\nport = "/dev/ttyACM0"\nbaudrate = 250000\n'
    )
    backend = create_backend(
        config.backend,
        lambda event: None,
        PrintJournal(tmp_path / "journal.jsonl"),
        load_profile("generic-220"),
    )
    assert isinstance(backend, MarlinPrinter)
    assert backend.options.port == "/dev/ttyACM0" and backend.options.baudrate == 250000


def test_a_klipper_printer_with_its_api_key_in_a_file(tmp_path: Path) -> None:
    key = tmp_path / "moonraker.key"
    key.write_text("s3cret\n")
    config = parse_config(
        HEAD + f'[backend]\nkind = "moonraker"\nurl = "http://voron:7125"\napi_key_file = "{key}"\n'
    )
    backend = create_backend(
        config.backend,
        lambda event: None,
        PrintJournal(tmp_path / "journal.jsonl"),
        load_profile("generic-220"),
    )
    assert isinstance(backend, MoonrakerPrinter)
    assert backend.options.api_key == "s3cret"
    assert backend.api.websocket_url == "ws://voron:7125/websocket"


def test_a_marlin_printer_needs_its_port() -> None:
    with pytest.raises(ConfigError, match=r"backend\.port: required key is missing"):
        parse_config(HEAD + '[backend]\nkind = "marlin"\n')


def test_the_example_configuration_still_parses() -> None:
    assert parse_config(EXAMPLE_CONFIG).backend.kind == "simulated"
