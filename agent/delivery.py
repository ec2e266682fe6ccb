"""Sending the outbox: events leave in order and are forgotten only after PUBACK.

At most `window` events are in flight. When the link drops, paho keeps the
in-flight ones and re-sends them first thing after reconnecting; the pump sends
nothing newer until those are acknowledged, so the controller sees events in the
order they happened. A restart re-sends whatever was still unacknowledged (the
controller drops duplicates by event id).
"""

from __future__ import annotations

from agent.link import MqttLink
from agent.outbox import Outbox

DEFAULT_WINDOW = 16


class Delivery:
    """Moves events from the outbox to the broker. Used from the agent's thread only."""

    def __init__(self, outbox: Outbox, link: MqttLink, window: int = DEFAULT_WINDOW) -> None:
        self._outbox = outbox
        self._link = link
        self._window = window
        self._in_flight: dict[int, int] = {}  # paho message id -> outbox seq
        self._last_sent_seq = 0
        self._draining = False  # after a reconnect: wait for paho's re-sends first

    def on_connected(self) -> None:
        self._draining = bool(self._in_flight)

    def on_acked(self, mid: int) -> bool:
        """Forget an acknowledged event; False when `mid` was not one of ours."""
        seq = self._in_flight.pop(mid, None)
        if seq is None:
            return False
        self._outbox.remove(seq)
        if not self._in_flight:
            self._draining = False
        return True

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def pump(self) -> int:
        """Send what the window allows; returns how many events were handed to the link."""
        if self._draining or not self._link.connected:
            return 0
        room = self._window - len(self._in_flight)
        if room <= 0:
            return 0
        sent = 0
        for entry in self._outbox.pending(after_seq=self._last_sent_seq, limit=room):
            mid = self._link.publish(entry.topic, entry.payload, qos=1)
            if mid is None:
                break  # offline again: the entry stays in the outbox
            self._in_flight[mid] = entry.seq
            self._last_sent_seq = entry.seq
            sent += 1
        return sent
