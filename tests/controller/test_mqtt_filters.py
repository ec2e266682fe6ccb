"""The link's route matching: a filter's pattern matches exactly the topics MQTT says it does."""

from __future__ import annotations

import aiomqtt
import pytest

from controller.mqtt_link import filter_pattern
from protocol import topics

CASES = [
    ("a/+/b", "a/x/b"),
    ("a/+/b", "a//b"),
    ("a/+/b", "a/x/y/b"),
    ("a/#", "a"),
    ("a/#", "a/b/c"),
    ("a/#", "ab"),
    ("#", "x/y"),
    ("a/b", "a/b"),
    ("a/b", "a/c"),
    ("+", "a/b"),
    ("a/+/#", "a/x"),
    ("a/+/#", "a"),
    ("a.b/+", "axb/c"),
    (
        topics.topic_filter(topics.TopicKind.PRINTER_STATE),
        topics.printer_state_topic("site-1", "mk4-1"),
    ),
    (
        topics.topic_filter(topics.TopicKind.PRINTER_EVENTS),
        topics.printer_state_topic("site-1", "mk4-1"),
    ),
]


@pytest.mark.parametrize(("topic_filter", "topic"), CASES)
def test_a_filter_pattern_agrees_with_mqtt_matching(topic_filter: str, topic: str) -> None:
    expected = aiomqtt.Topic(topic).matches(topic_filter)
    assert bool(filter_pattern(topic_filter).fullmatch(topic)) is expected


def test_a_state_topic_matches_the_state_filter_and_not_the_events_filter() -> None:
    topic = topics.printer_state_topic("site-1", "mk4-1")
    assert filter_pattern(topics.topic_filter(topics.TopicKind.PRINTER_STATE)).fullmatch(topic)
    assert not filter_pattern(topics.topic_filter(topics.TopicKind.PRINTER_EVENTS)).fullmatch(topic)
