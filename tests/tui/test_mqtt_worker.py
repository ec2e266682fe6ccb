"""What the broker link does with what arrives: good messages reach the store, anything
else is counted and dropped without stopping the link."""

from __future__ import annotations

from datetime import UTC, datetime

from protocol import topics
from protocol.codec import encode
from protocol.messages.fleet import AlertList
from tui.broker import BrokerAddress
from tui.mqtt_worker import FarmLink, LinkStatus, subscriptions
from tui.store import FleetStore


def _link() -> tuple[FarmLink, FleetStore]:
    store = FleetStore()
    statuses: list[LinkStatus] = []
    return FarmLink(BrokerAddress("localhost", 1883), store, statuses.append), store


def test_a_fleet_summary_reaches_the_store() -> None:
    link, store = _link()
    link.receive(topics.fleet_alerts_topic(), encode(AlertList(updated_at=datetime.now(UTC))))
    assert store.take_changes().alerts
    assert store.rejected_messages == 0


def test_garbage_and_foreign_topics_are_counted_and_dropped() -> None:
    link, store = _link()
    link.receive(topics.fleet_alerts_topic(), b"\xff\xfe not json")
    link.receive("makerfarm/v1/nowhere/at/all", b"{}")
    link.receive(topics.fleet_queue_topic(), b'{"type": "fleet.queue", "schema": 1}')
    assert store.rejected_messages == 3
    assert "fleet.queue rejected" in link.last_rejection
    assert not store.take_changes()


def test_one_site_is_followed_on_every_topic_that_names_a_site() -> None:
    followed = [topic for topic, _qos in subscriptions("kreuzberg")]
    assert "makerfarm/v1/fleet/printers/kreuzberg/+" in followed
    assert "makerfarm/v1/sites/kreuzberg/printers/+/state" in followed
    assert "makerfarm/v1/fleet/sites/+" in followed  # every site's line, for the site list
