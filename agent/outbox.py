"""The event outbox: events wait on disk until the broker has acknowledged them.

Events the agent reports (plate started, progress, finished, failed) are appended
here first, in order, and only removed after the broker's PUBACK. They survive a
broker outage, a dropped network and a restart of the agent.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.store import AgentStore


@dataclass(frozen=True)
class OutboxEntry:
    seq: int  # the send order
    event_id: str
    topic: str
    payload: bytes


class Outbox:
    def __init__(self, store: AgentStore) -> None:
        self._store = store

    def append(self, event_id: str, topic: str, payload: bytes) -> int:
        """Store one event durably; returns its sequence number."""
        cursor = self._store.execute(
            "INSERT INTO outbox (event_id, topic, payload) VALUES (?, ?, ?)",
            (event_id, topic, payload),
        )
        return int(cursor.lastrowid or 0)

    def pending(self, after_seq: int = 0, limit: int = 100) -> list[OutboxEntry]:
        """Events not yet acknowledged with seq > after_seq, oldest first."""
        rows = self._store.query(
            "SELECT seq, event_id, topic, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        )
        return [OutboxEntry(int(r[0]), str(r[1]), str(r[2]), bytes(r[3])) for r in rows]

    def remove(self, seq: int) -> None:
        """Forget an event the broker has acknowledged."""
        self._store.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    def __len__(self) -> int:
        return int(self._store.query("SELECT COUNT(*) FROM outbox")[0][0])
