"""The staff TUI and the staff ACL agree: every topic the TUI follows for one site is one
its staff may read through the broker's generated ACL, so nothing it needs is silently
withheld. (With no site the TUI follows every site: that needs a login that may read them
all, which one site's staff is not; the README says so.)"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from protocol import topics
from tests.security.conftest import Client, Keys
from tests.support.mosquitto import Broker
from tui.mqtt_worker import subscriptions


def a_topic_matching(topic_filter: str) -> str:
    """A concrete topic of site1 and its printer p1 that `topic_filter` matches."""
    return topic_filter.replace("/+/", "/p1/").replace("/+", "/p1").replace("/#", "/p1")


def test_every_topic_the_tui_follows_for_a_site_reaches_that_sites_staff(
    farm_db: tuple[Engine, Keys, str],
    start_generated_broker: Callable[..., Broker],
    clients: Callable[..., Client],
) -> None:
    engine, keys, _ = farm_db
    broker = start_generated_broker(engine)
    controller = clients(broker.port, "controller", keys["controller"])
    alice = clients(broker.port, "staff.alice", keys["staff.alice"])
    followed = [topic_filter for topic_filter, _qos in subscriptions("site1")]
    for topic_filter in followed:
        assert alice.subscribe(topic_filter) in ([0], [1]), topic_filter
    sent = []
    for topic_filter in followed:
        topic = a_topic_matching(topic_filter)
        topics.parse_topic(topic)  # a real topic of the map
        controller.publish(topic, topic_filter.encode())
        sent.append((topic, topic_filter.encode()))
    received = [alice.next_message() for _ in sent]
    assert received == sent
