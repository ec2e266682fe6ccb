"""A real Mosquitto running the configuration `makerfarm broker-config` writes: every
identity can do what its role needs and nothing else."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from protocol import topics
from tests.security.conftest import Client, Keys
from tests.support.mosquitto import Broker

MESH = "0" * 64


@pytest.fixture
def farm(
    farm_db: tuple[Engine, Keys, str], start_generated_broker: Callable[..., Broker]
) -> tuple[Broker, Keys]:
    engine, keys, _url = farm_db
    return start_generated_broker(engine), keys


def login(clients: Callable[..., Client], farm: tuple[Broker, Keys], user: str) -> Client:
    broker, keys = farm
    return clients(broker.port, user, keys[user])


def test_anonymous_and_wrong_password_clients_are_refused(
    farm: tuple[Broker, Keys], clients: Callable[..., Client]
) -> None:
    broker, keys = farm
    with pytest.raises(ConnectionRefusedError):
        clients(broker.port, None, None)
    with pytest.raises(ConnectionRefusedError):
        clients(broker.port, "shop.shop-a", keys["shop.shop-b"])
    with pytest.raises(ConnectionRefusedError):
        clients(broker.port, "nobody", "whatever-password")
    assert login(clients, farm, "shop.shop-a").refused is None


def test_shop_a_cannot_publish_a_job_for_shop_b(
    farm: tuple[Broker, Keys], clients: Callable[..., Client]
) -> None:
    controller = login(clients, farm, "controller")
    assert controller.subscribe(topics.root_filter()) == [1]
    shop_a = login(clients, farm, "shop.shop-a")
    shop_a.publish(topics.job_submit_topic("shop-b"), b'{"forged": true}')
    shop_a.publish(topics.mesh_topic("shop-b", MESH), b"solid forged")
    shop_a.publish(topics.job_cancel_topic("shop-b", "j1"), b"{}")
    shop_a.publish(topics.job_status_topic("shop-b", "j1"), b"{}", retain=True)
    barrier = topics.job_submit_topic("shop-a")
    shop_a.publish(barrier, b'{"own": true}')
    received = controller.receive_until(barrier)
    assert received == [(barrier, b'{"own": true}')]


def test_shop_a_cannot_read_shop_b_status_or_errors(
    farm: tuple[Broker, Keys], clients: Callable[..., Client]
) -> None:
    controller = login(clients, farm, "controller")
    controller.publish(topics.job_status_topic("shop-b", "j1"), b"b's status", retain=True)
    controller.publish(topics.job_status_topic("shop-a", "j2"), b"a's status", retain=True)
    shop_a = login(clients, farm, "shop.shop-a")
    shop_a.subscribe(topics.topic_filter(topics.TopicKind.JOB_STATUS, shop="shop-b"))
    shop_a.subscribe(topics.shop_errors_topic("shop-b"))
    shop_a.subscribe(topics.topic_filter(topics.TopicKind.JOB_STATUS))  # every shop's
    shop_a.subscribe(topics.topic_filter(topics.TopicKind.JOB_STATUS, shop="shop-a"))
    controller.publish(topics.shop_errors_topic("shop-b"), b"b's error")
    own_errors = topics.shop_errors_topic("shop-a")
    shop_a.subscribe(own_errors)
    controller.publish(own_errors, b"a's error")
    received = shop_a.receive_until(own_errors)
    assert all(b"b's" not in payload for _, payload in received)
    assert (topics.job_status_topic("shop-a", "j2"), b"a's status") in received


def test_a_shop_cannot_command_a_printer_or_staff_desk(
    farm: tuple[Broker, Keys], clients: Callable[..., Client]
) -> None:
    agent = login(clients, farm, "agent.p1")
    cmd = topics.printer_cmd_topic("site1", "p1")
    agent.subscribe(cmd)
    agent.subscribe(topics.topic_filter(topics.TopicKind.PRINTER_GCODE, site="site1", printer="p1"))
    controller = login(clients, farm, "controller")
    controller.subscribe(topics.staff_cmd_topic("site1"))
    shop_a = login(clients, farm, "shop.shop-a")
    shop_a.publish(cmd, b'{"type": "cmd.run_plate"}')
    shop_a.publish(topics.printer_gcode_topic("site1", "p1", MESH), b"G28")
    shop_a.publish(topics.staff_cmd_topic("site1"), b'{"type": "staff.bed_cleared"}')
    controller.publish(cmd, b"from the controller")
    assert agent.receive_until(cmd) == [(cmd, b"from the controller")]
    controller.publish(topics.staff_cmd_topic("site1"), b"barrier")
    assert controller.receive_until(topics.staff_cmd_topic("site1")) == [
        (topics.staff_cmd_topic("site1"), b"barrier")
    ]


def test_an_agent_cannot_publish_another_printers_state_or_read_its_commands(
    farm: tuple[Broker, Keys], clients: Callable[..., Client]
) -> None:
    controller = login(clients, farm, "controller")
    controller.subscribe(topics.topic_filter(topics.TopicKind.PRINTER_STATE))
    controller.subscribe(topics.topic_filter(topics.TopicKind.PRINTER_EVENTS))
    agent = login(clients, farm, "agent.p1")
    agent.subscribe(topics.printer_cmd_topic("site2", "p2"))
    agent.publish(topics.printer_state_topic("site2", "p2"), b"forged state", retain=True)
    agent.publish(topics.printer_events_topic("site2", "p2"), b"forged event")
    agent.publish(topics.printer_state_topic("site2", "p1"), b"p1 at the wrong site")
    own = topics.printer_state_topic("site1", "p1")
    agent.publish(own, b"own state")
    assert controller.receive_until(own) == [(own, b"own state")]
    controller.publish(topics.printer_cmd_topic("site2", "p2"), b"p2's command")
    controller.publish(topics.printer_cmd_topic("site1", "p1"), b"x")  # not subscribed
    agent.subscribe(topics.printer_cmd_topic("site1", "p1"))
    controller.publish(topics.printer_cmd_topic("site1", "p1"), b"p1's command")
    assert agent.receive_until(topics.printer_cmd_topic("site1", "p1")) == [
        (topics.printer_cmd_topic("site1", "p1"), b"p1's command")
    ]


def test_staff_of_site_1_cannot_command_site_2_but_can_command_their_own(
    farm: tuple[Broker, Keys], clients: Callable[..., Client]
) -> None:
    controller = login(clients, farm, "controller")
    controller.subscribe(topics.topic_filter(topics.TopicKind.STAFF_CMD))
    alice = login(clients, farm, "staff.alice")
    alice.publish(topics.staff_cmd_topic("site2"), b"to site2")
    alice.publish(topics.printer_cmd_topic("site1", "p1"), b"straight to a printer")
    own = topics.staff_cmd_topic("site1")
    alice.publish(own, b"to site1")
    assert controller.receive_until(own) == [(own, b"to site1")]


def test_staff_read_their_sites_printers_replies_and_the_fleet_only(
    farm: tuple[Broker, Keys], clients: Callable[..., Client]
) -> None:
    controller = login(clients, farm, "controller")
    alice = login(clients, farm, "staff.alice")
    for topic_filter in (
        topics.fleet_filter(),
        topics.topic_filter(topics.TopicKind.PRINTER_STATE),
        topics.topic_filter(topics.TopicKind.STAFF_REPLIES, site="site2"),
        topics.topic_filter(topics.TopicKind.STAFF_REPLIES, site="site1"),
    ):
        alice.subscribe(topic_filter)
    controller.publish(topics.printer_state_topic("site2", "p2"), b"site2 printer")
    controller.publish(topics.staff_replies_topic("site2"), b"site2 reply")
    controller.publish(topics.printer_state_topic("site1", "p1"), b"site1 printer")
    controller.publish(topics.fleet_queue_topic(), b"queue")
    barrier = topics.staff_replies_topic("site1")
    controller.publish(barrier, b"site1 reply")
    received = alice.receive_until(barrier)
    assert [payload for _, payload in received] == [b"site1 printer", b"queue", b"site1 reply"]


def test_a_bridge_login_carries_its_site_only(
    farm: tuple[Broker, Keys], clients: Callable[..., Client]
) -> None:
    controller = login(clients, farm, "controller")
    controller.subscribe(topics.root_filter())
    bridge = login(clients, farm, "bridge.site1")
    bridge.publish(topics.printer_state_topic("site2", "p2"), b"other site")
    bridge.publish(topics.job_submit_topic("shop-a"), b"a shop's job")
    own = topics.printer_events_topic("site1", "p1")
    bridge.publish(own, b"site1 event")
    assert controller.receive_until(own) == [(own, b"site1 event")]
