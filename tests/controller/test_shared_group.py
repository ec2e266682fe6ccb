"""The parts of `--shared-group` that can be checked one at a time: the settings, the MQTT
link's shared and snapshot subscriptions (real mosquitto), the leader election and wake-ups
(real PostgreSQL), and the store's retry of a transaction another controller beat."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

import aiomqtt
import pytest
from sqlalchemy import text
from sqlmodel import Session

from controller.cli import configure, settings_from
from controller.config import BrokerAddress, ControllerSettings
from controller.db.tables import Site
from controller.leadership import Leadership
from controller.mqtt_link import Inbound, MqttLink
from controller.store import Store
from tests.support.mosquitto import Broker

BROKER = BrokerAddress(host="127.0.0.1", port=1883)


def _address(broker: Broker) -> BrokerAddress:
    return BrokerAddress(host=broker.host, port=broker.port)


# --- settings -------------------------------------------------------------------------------


def test_a_shared_group_on_sqlite_is_refused_with_what_to_use_instead(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"SQLite cannot be shared.*--db postgresql://"):
        ControllerSettings(broker=BROKER, data_dir=tmp_path, shared_group="controllers")


def test_a_shared_group_needs_the_farms_broker(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--broker"):
        ControllerSettings(
            data_dir=tmp_path, db_url="postgresql://pg/farm", shared_group="controllers"
        )


def test_a_share_name_with_a_topic_separator_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a valid MQTT share name"):
        ControllerSettings(broker=BROKER, db_url="postgresql://pg/farm", shared_group="a/b")


def test_the_cli_reads_the_group_from_the_option_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import argparse

    def parse(*argv: str) -> ControllerSettings:
        parser = argparse.ArgumentParser()
        configure(parser)
        return settings_from(parser.parse_args(list(argv)))

    common = ("--broker", "mqtt://127.0.0.1:1883", "--db", "postgresql://pg/farm")
    assert parse(*common, "--shared-group", "ctl").shared_group == "ctl"
    monkeypatch.setenv("MAKERFARM_SHARED_GROUP", "from-env")
    settings = parse(*common)
    assert settings.shared_group == "from-env"
    # Each controller of a group gets its own client id (a shared one would kick the other off).
    assert settings.mqtt_client_id.startswith("makerfarm-controller-")
    assert parse(*common, "--client-id", "ctl-7").mqtt_client_id == "ctl-7"


# --- the MQTT link --------------------------------------------------------------------------


def test_shared_links_split_live_messages_and_each_reads_retained_states(
    mosquitto: Broker,
) -> None:
    async def scenario() -> tuple[dict[str, list[bytes]], dict[str, list[bytes]]]:
        live: dict[str, list[bytes]] = {"a": [], "b": []}
        retained: dict[str, list[bytes]] = {"a": [], "b": []}
        total = asyncio.Event()

        def handler(name: str) -> Callable[[Inbound], object]:
            async def handle(message: Inbound) -> None:
                (retained if message.retain else live)[name].append(message.payload)
                message.ack()
                if sum(len(v) for v in live.values()) >= 20:
                    total.set()

            return handle

        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as client:
            await client.publish("sharetest/sites/s1/state", b"kept", qos=1, retain=True)
        links = {}
        for name in ("a", "b"):
            link = MqttLink(
                _address(mosquitto),
                f"share-{name}",
                shared_group="g",
                snapshot=frozenset({"sharetest/sites/+/state"}),
            )
            link.route("sharetest/sites/+/state", handler(name))  # type: ignore[arg-type]
            links[name] = link
        async with links["a"], links["b"]:
            await asyncio.wait_for(links["a"].connected.wait(), 5)
            await asyncio.wait_for(links["b"].connected.wait(), 5)
            async with aiomqtt.Client(mosquitto.host, mosquitto.port) as client:
                for n in range(20):
                    await client.publish("sharetest/sites/s2/state", b"%d" % n, qos=1)
            await asyncio.wait_for(total.wait(), 5)
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as client:
            await client.publish("sharetest/sites/s1/state", b"", qos=1, retain=True)
        return live, retained

    live, retained = asyncio.run(scenario())
    # Each link read the retained state (the Mosquitto 2.0.11 here also hands it to the
    # shared subscription, against MQTT 5 section 4.8.2, so it may come twice).
    assert {name: set(got) for name, got in retained.items()} == {"a": {b"kept"}, "b": {b"kept"}}
    assert len(live["a"]) + len(live["b"]) == 20  # each live message went to one of them
    assert live["a"] and live["b"]


# --- leader election (PostgreSQL) -----------------------------------------------------------


def test_the_other_controller_takes_over_when_the_leader_goes_and_hears_wake_ups(
    postgres_url: str,
) -> None:
    async def scenario() -> tuple[bool, bool, bool, set[str]]:
        first, second = Leadership(postgres_url, "one"), Leadership(postgres_url, "two")
        heard: set[str] = set()
        woken = asyncio.Event()

        def on_wake(kinds: set[str]) -> None:
            heard.update(kinds)
            woken.set()

        second.on_wake(on_wake)
        await first.start()
        await _until(lambda: first.is_leader)
        await second.start()
        async with asyncio.timeout(5):  # until the second one listens
            while not woken.is_set():
                first.notify({"replan", "fleet", "nonsense"})
                await asyncio.sleep(0.1)
        second_led_while_first_did = second.is_leader
        await first.close()  # its connection, and with it the lock, is gone
        await _until(lambda: second.is_leader, timeout_s=10)
        took_over = second.is_leader
        await second.close()
        return first.is_leader, second_led_while_first_did, took_over, heard

    first_still, both, took_over, heard = asyncio.run(scenario())
    assert not both, "two leaders at once"
    assert took_over and not first_still
    assert heard == {"replan", "fleet"}


async def _until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.02)


# --- the store ------------------------------------------------------------------------------


def test_a_transaction_beaten_by_another_controller_is_run_again(
    postgres_url: str, tmp_path: Path
) -> None:
    """Two stores (two controllers) change one row at once: REPEATABLE READ refuses the
    later writer, and the store runs its transaction again on the committed row."""
    settings = ControllerSettings(
        broker=BROKER, data_dir=tmp_path, db_url=postgres_url, shared_group="g"
    )
    inside = threading.Event()
    release = threading.Event()
    runs: list[str] = []

    def slow_rename(session: Session) -> None:
        site = session.get(Site, "s1")
        assert site is not None
        runs.append(site.name)
        inside.set()
        release.wait(5)
        site.name = site.name + "+slow"
        session.add(site)

    def quick_rename(session: Session) -> None:
        site = session.get(Site, "s1")
        assert site is not None
        site.name = site.name + "+quick"
        session.add(site)

    async def scenario() -> str:
        async with Store(settings) as first, Store(settings) as second:
            await first.run(lambda s: s.add(Site(id="s1", name="s1")))
            slow = asyncio.create_task(first.run(slow_rename))
            await asyncio.to_thread(inside.wait, 5)
            await second.run(quick_rename)
            release.set()
            await slow
            assert first.conflicts_retried == 1
            return await first.run(
                lambda s: s.execute(text("SELECT name FROM sites WHERE id = 's1'")).scalar_one()
            )

    assert asyncio.run(scenario()) == "s1+quick+slow"
    assert runs == ["s1", "s1+quick"]
