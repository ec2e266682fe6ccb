"""A running bridge: a site mosquitto with the `broker-config --bridge` configuration,
bridged to a central mosquitto with the central configuration. The site's agents and staff
log in to their own broker; their site's topics cross both ways; the bridge's login on the
central broker reaches its own site and nothing else."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from controller.config import BrokerAddress
from controller.security.broker_config import Bridge, BrokerOptions
from protocol import topics
from tests.security.conftest import Client, Keys
from tests.support.mosquitto import Broker, free_port

BRIDGE_UP_S = 30.0  # mosquitto's bridge connects on its own schedule (restart_timeout 2 30)


@pytest.fixture
def bridged(
    farm_db: tuple[Engine, Keys, str], start_generated_broker: Callable[..., Broker]
) -> tuple[Broker, Broker, Keys]:
    engine, keys, _ = farm_db
    central = start_generated_broker(engine, name="central")
    login = BrokerAddress(
        host="127.0.0.1", port=central.port, username="bridge.site1", password=keys["bridge.site1"]
    )
    site = start_generated_broker(
        engine,
        BrokerOptions(
            port=free_port(), bind="127.0.0.1", bridge=Bridge(site="site1", central=login)
        ),
        name="site1",
    )
    return central, site, keys


def test_site_and_central_brokers_carry_the_sites_topics_both_ways(
    bridged: tuple[Broker, Broker, Keys], clients: Callable[..., Client]
) -> None:
    central, site, keys = bridged
    controller = clients(central.port, "controller", keys["controller"])
    agent = clients(site.port, "agent.p1", keys["agent.p1"])
    cmd = topics.printer_cmd_topic("site1", "p1")
    assert agent.subscribe(cmd) == [1]
    # Retained, so it waits on the central broker until the bridge has subscribed there:
    # its arrival at the site is also the sign that the bridge is up.
    first = b"run plate 1 (from the central controller)"
    controller.publish(cmd, first, retain=True)
    assert agent.messages.get(timeout=BRIDGE_UP_S) == (cmd, first)
    state = topics.printer_state_topic("site1", "p1")
    assert controller.subscribe(state) == [1]
    agent.publish(state, b"p1 idle (from the site)")
    assert controller.receive_until(state)[-1] == (state, b"p1 idle (from the site)")
    controller.publish(cmd, b"pause (live)")
    assert agent.receive_until(cmd) == [(cmd, b"pause (live)")]


def test_the_bridge_login_cannot_reach_another_site(
    bridged: tuple[Broker, Broker, Keys], clients: Callable[..., Client]
) -> None:
    central, _site, keys = bridged
    controller = clients(central.port, "controller", keys["controller"])
    bridge = clients(central.port, "bridge.site1", keys["bridge.site1"])
    other_cmd = topics.printer_cmd_topic("site2", "p2")
    bridge.subscribe(topics.site_filter("site2"))
    own = topics.printer_cmd_topic("site1", "p1")
    bridge.subscribe(own)
    controller.publish(other_cmd, b"site2's command")
    controller.publish(topics.staff_replies_topic("site2"), b"site2's reply")
    controller.publish(own, b"site1's command")
    assert bridge.receive_until(own) == [(own, b"site1's command")]

    watcher = clients(central.port, "controller", keys["controller"], client_id="watcher")
    watcher.subscribe(topics.site_filter("site2"))
    barrier = topics.printer_events_topic("site1", "p1")
    watcher.subscribe(barrier)
    bridge.publish(other_cmd, b"forged command for site2")
    bridge.publish(topics.staff_cmd_topic("site2"), b"forged staff command for site2")
    bridge.publish(barrier, b"site1 event")
    assert watcher.receive_until(barrier) == [(barrier, b"site1 event")]
