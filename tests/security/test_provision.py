"""`makerfarm provision` and `makerfarm broker-config` as the operator runs them."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from agent.config import parse_config
from controller.db import create_engine_for, unit_of_work
from controller.db.identity_tables import Identity
from controller.db.tables import Shop
from controller.security.passwords import verify_password
from makerfarm_cli import main


def provision(capsys: pytest.CaptureFixture[str], data: Path, *args: str) -> tuple[int, str]:
    code = main(["provision", "--data", str(data), "--json", *args])
    captured = capsys.readouterr()
    return code, captured.out if code == 0 else captured.err


def issued(capsys: pytest.CaptureFixture[str], data: Path, *args: str) -> dict[str, str]:
    code, out = provision(capsys, data, *args)
    assert code == 0, out
    result: dict[str, str] = json.loads(out)
    return result


def test_a_printer_key_is_printed_once_stored_hashed_and_written_into_its_agent_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    site = ("site", "add", "berlin", "--lat", "52.5", "--lon", "13.4")
    assert provision(capsys, data, *site)[0] == 0
    config = tmp_path / "agent" / "b1.toml"
    printer = issued(
        capsys,
        data,
        "printer",
        "add",
        "b1",
        "--site",
        "berlin",
        "--profile",
        "prusa-mk4",
        "--agent-config",
        str(config),
        "--broker",
        "mqtts://farm.example.org:8883",
    )
    assert printer["username"] == "agent.b1"
    agent = parse_config(config.read_text())
    assert (agent.site, agent.printer, agent.profile) == ("berlin", "b1", "prusa-mk4")
    assert agent.broker.credentials() == ("agent.b1", printer["key"])
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    engine = create_engine_for(f"sqlite:///{data / 'makerfarm.db'}")
    with unit_of_work(engine) as session:
        identity = session.get(Identity, "agent.b1")
        assert identity is not None and identity.site_id == "berlin"
        assert printer["key"] not in identity.password_hash
        assert verify_password(printer["key"], identity.password_hash)
    engine.dispose()
    listed = json.loads(provision(capsys, data, "list")[1])
    assert [row["username"] for row in listed] == ["agent.b1"]
    assert "key" not in listed[0]


def test_shops_get_quotas_and_staff_belong_to_a_provisioned_site(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    issued(capsys, data, "shop", "add", "acme", "--max-open-jobs", "3")
    code, error = provision(capsys, data, "staff", "add", "alice", "--site", "nowhere")
    assert code == 2 and "site nowhere is not provisioned" in error
    code, error = provision(capsys, data, "shop", "add", "acme")
    assert code == 2 and "rotate-key shop.acme" in error
    code, error = provision(capsys, data, "shop", "add", "Bad/Id")
    assert code == 2 and "not valid" in error
    rotated = issued(capsys, data, "rotate-key", "shop.acme")
    engine = create_engine_for(f"sqlite:///{data / 'makerfarm.db'}")
    with unit_of_work(engine) as session:
        shop = session.get(Shop, "acme")
        assert shop is not None and shop.quotas == {"max_open_jobs": 3}
        identity = session.get(Identity, "shop.acme")
        assert identity is not None and verify_password(rotated["key"], identity.password_hash)
    engine.dispose()
    assert provision(capsys, data, "shop", "remove", "acme") == (0, '"shop acme: removed"\n')


def test_broker_config_writes_owner_only_files_and_checks_the_bridge_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    provision(capsys, data, "site", "add", "berlin", "--lat", "52.5", "--lon", "13.4")
    bridge = issued(capsys, data, "bridge", "add", "berlin")
    issued(capsys, data, "printer", "add", "b1", "--site", "berlin", "--profile", "prusa-mk4")
    issued(capsys, data, "shop", "add", "acme")
    out = tmp_path / "site-broker"
    wrong = main(
        [
            "broker-config",
            "--data",
            str(data),
            "--out",
            str(out),
            "--bridge",
            "berlin",
            "--central",
            "mqtt://bridge.berlin:not-the-key@central:1883",
        ]
    )
    assert wrong == 2 and "not bridge.berlin's" in capsys.readouterr().err
    assert (
        main(
            [
                "broker-config",
                "--data",
                str(data),
                "--out",
                str(out),
                "--bridge",
                "berlin",
                "--central",
                f"mqtt://bridge.berlin:{bridge['key']}@central:1883",
            ]
        )
        == 0
    )
    conf = (out / "mosquitto.conf").read_text()
    assert "topic makerfarm/v1/sites/berlin/# both 1" in conf
    assert "allow_anonymous false" in conf
    passwords = (out / "passwords").read_text()
    assert passwords.startswith("agent.b1:$7$") and "shop.acme" not in passwords
    for name in ("passwords", "acl", "mosquitto.conf"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600
