"""The agent's TOML configuration: defaults that work, errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import EXAMPLE_CONFIG, ConfigError, load_config, parse_config

MINIMAL = 'site = "lab"\nprinter = "p1"\nprofile = "generic-220"\n'


def test_example_config_is_valid_and_documents_every_section() -> None:
    config = parse_config(EXAMPLE_CONFIG)
    assert config.site == "fablab-north" and config.backend.kind == "simulated"
    for key in (
        "state_interval_s",
        "spool_dir",
        "[broker]",
        "password_file",
        "[backend]",
        "speed",
        "backend.faults",
    ):
        assert key in EXAMPLE_CONFIG


def test_minimal_config_gets_a_stable_client_id() -> None:
    config = parse_config(MINIMAL)
    assert config.client_id() == "makerfarm-agent-lab-p1"
    assert config.broker.address().port == 1883


def test_broker_url_carries_credentials_and_tls() -> None:
    config = parse_config(
        MINIMAL + '[broker]\nurl = "mqtts://agent%40lab:s3cret@broker.example:9000"\n'
    )
    address = config.broker.address()
    assert (address.tls, address.host, address.port) == (True, "broker.example", 9000)
    assert config.broker.credentials() == ("agent@lab", "s3cret")


def test_password_file_wins_over_the_url(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("from-file\n")
    config = parse_config(MINIMAL + f'[broker]\nurl = "mqtt://u:p@h"\npassword_file = "{secret}"\n')
    assert config.broker.credentials() == ("u", "from-file")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (MINIMAL + "state_interval_s = -1\n", "state_interval_s"),
        (MINIMAL + "stat_interval = 1\n", "stat_interval: unknown key"),
        (MINIMAL + '[broker]\nurl = "http://x"\n', "broker.url"),
        (MINIMAL + "[backend]\nspeed = 0\n", "backend.speed"),
        (MINIMAL + '[[backend.faults]]\nkind = "meteor"\n', "backend.faults.0.kind"),
        ('printer = "p1"\nprofile = "generic-220"\n', "site: required key is missing"),
        ('site = "Lab One"\n' + MINIMAL.split("\n", 1)[1], "site"),
    ],
)
def test_errors_name_the_key(text: str, named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "agent.toml")
    assert named in str(caught.value)
    assert str(caught.value).startswith("agent.toml")


def test_unreadable_file_and_bad_toml_are_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("site = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)
