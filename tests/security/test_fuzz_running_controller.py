"""Property-based fuzzing of every topic the controller reads, against a running controller
on a real mosquitto: 10,000 hostile payloads in batches, published pipelined.

Each payload must be refused (logged with its topic and reason; a shop's also answered on
its errors topic with a specific code), the controller must keep serving, and no row of any
table may change. Printer states and events have no answer channel, so their refusals are
counted in the controller's log; a staff command too broken to name its id is logged only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine

from protocol import topics
from protocol.codec import decode
from protocol.errors import RejectionCode
from protocol.messages.jobs import Rejection
from protocol.messages.staff import StaffReply
from protocol.topics import TopicKind
from tests.security.fuzz_payloads import Hostile, hostile_batches
from tests.security.hostile_farm import FUZZ_SHOPS, Observer, dump, hostile_farm, mqtt_client
from tests.support.mosquitto import Broker

BATCH = 100
BATCHES = 100  # 10,000 payloads in all
ANSWER_WAIT_S = 30.0
SHOP_KINDS = frozenset({TopicKind.MESH, TopicKind.JOB_SUBMIT, TopicKind.JOB_CANCEL})

Farm = tuple[Any, Observer, Engine, mqtt.Client]


@pytest.fixture(scope="module")
def farm(own_mosquitto: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Farm]:
    with hostile_farm(own_mosquitto, tmp_path_factory.mktemp("fuzz")) as (running, obs, engine):
        client = mqtt_client(own_mosquitto, obs, max_inflight=BATCH)
        yield running, obs, engine, client
        client.disconnect()
        client.loop_stop()


def publish_all(client: mqtt.Client, batch: list[Hostile]) -> None:
    infos = [client.publish(h.topic, h.payload, qos=1) for h in batch]
    for info in infos:
        info.wait_for_publish(ANSWER_WAIT_S)


def answers_since(
    observer: Observer, marks: tuple[int, int, int]
) -> tuple[list[tuple[str, str]], list[Rejection], list[StaffReply]]:
    with observer.changed:
        refusals = observer.refusals[marks[0] :]
        rejections = observer.rejections[marks[1] :]
        replies = observer.replies[marks[2] :]
    return (
        refusals,
        [decode(payload, Rejection) for _, payload in rejections],
        [decode(payload, StaffReply) for _, payload in replies],
    )


def describe(batch: list[Hostile], missing: Counter[str]) -> str:
    unanswered = [(h.how, h.topic, h.payload[:80]) for h in batch if missing[h.topic] > 0]
    return f"no refusal for {sum(missing.values())} payloads, e.g. {unanswered[:5]}"


def check_batch(farm: Farm, batch: list[Hostile]) -> None:
    """Publish a batch and wait (bounded) for every payload's refusal; nothing written."""
    _, observer, engine, client = farm
    before = dump(engine)
    with observer.changed:
        marks = (len(observer.refusals), len(observer.rejections), len(observer.replies))
    shop_topics = Counter(h.topic for h in batch if h.kind in SHOP_KINDS)
    publish_all(client, batch)
    observer.wait_for(
        {"refused": marks[0] + len(batch), "shop": marks[1] + sum(shop_topics.values())},
        ANSWER_WAIT_S,
    )
    refusals, rejections, replies = answers_since(observer, marks)

    expected = Counter(h.topic for h in batch)
    refused = Counter(topic for topic, _ in refusals)
    assert refused == expected, describe(batch, expected - refused)
    assert all(reason for _, reason in refusals)
    assert Counter(r.topic for r in rejections) == shop_topics
    assert not [r for r in rejections if r.code is RejectionCode.INTERNAL_ERROR]
    assert not [r for r in replies if r.accepted]
    assert dump(engine) == before


def test_every_inbound_topic_refuses_ten_thousand_hostile_payloads_and_writes_nothing(
    farm: Farm,
) -> None:
    running, _, engine, client = farm
    before = dump(engine)
    checked: list[int] = []

    @settings(
        max_examples=BATCHES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(hostile_batches(BATCH))
    def hostile_batch_is_refused(batch: list[Hostile]) -> None:
        check_batch(farm, batch)
        checked.append(len(batch))

    hostile_batch_is_refused()
    assert sum(checked) >= BATCHES * BATCH
    assert dump(engine) == before
    # Still serving: a well-formed cancel of a job nobody has gets its specific answer.
    cancel = Hostile(
        TopicKind.JOB_CANCEL,
        topics.job_cancel_topic(FUZZ_SHOPS[0], "j-none"),
        b'{"type": "job.cancel", "schema": 1}',
        "valid",
    )
    _, observer, _, _ = farm
    with observer.changed:
        mark = len(observer.rejections)
    publish_all(client, [cancel])
    observer.wait_for({"shop": mark + 1}, ANSWER_WAIT_S)
    _, rejections, _ = answers_since(observer, (0, mark, 0))
    assert [str(r.code) for r in rejections] == ["unknown_job"]
    assert running.service is not None
