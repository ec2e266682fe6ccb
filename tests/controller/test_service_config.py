"""Broker URLs and settings the controller commands accept."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.config import BrokerAddress, ControllerSettings


def test_broker_url_with_credentials_and_port_is_parsed() -> None:
    address = BrokerAddress.parse("mqtts://shop%40one:s3cr%3At@broker.example:8884")
    assert (address.host, address.port, address.tls) == ("broker.example", 8884, True)
    assert (address.username, address.password) == ("shop@one", "s3cr:t")


def test_broker_url_defaults_port_by_scheme() -> None:
    assert BrokerAddress.parse("mqtt://10.0.0.5").port == 1883
    assert BrokerAddress.parse("mqtts://10.0.0.5").port == 8883
    assert BrokerAddress.parse("localhost:1999") == BrokerAddress(host="localhost", port=1999)


def test_printed_broker_url_never_shows_the_password() -> None:
    address = BrokerAddress.parse("mqtt://staff:hunter2@127.0.0.1:1883")
    assert address.url == "mqtt://staff@127.0.0.1:1883"
    assert "hunter2" not in address.url


@pytest.mark.parametrize(
    ("url", "says"),
    [("http://host:1883", "scheme"), ("mqtt://:1883", "no host"), ("mqtt://host:99999", "port")],
)
def test_bad_broker_url_says_what_is_wrong(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        BrokerAddress.parse(url)


def test_default_database_is_a_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    settings = ControllerSettings(data_dir=tmp_path / "farm")
    assert settings.database_url == f"sqlite:///{(tmp_path / 'farm' / 'makerfarm.db')}"
    assert settings.meshes_dir == tmp_path / "farm" / "meshes"
    assert ControllerSettings(db_url="postgresql://db/farm").database_url == "postgresql://db/farm"
