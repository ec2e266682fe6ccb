"""The print journal: what a printer actually ran, one JSON line per fact.

A back-end appends a line when it starts a plate and when the plate ends
(finished, failed or cancelled), naming the objects it printed, cancelled and
lost. It is the printer's own record, independent of MQTT and the controller, so
tests and audits can prove that every part was printed exactly once.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

Outcome = Literal["started", "finished", "failed", "cancelled"]


@dataclass(frozen=True)
class JournalEntry:
    plate_id: str
    sha256: str
    outcome: Outcome
    printed: tuple[str, ...] = ()
    cancelled: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    reason: str = ""
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())


class PrintJournal:
    """Append-only JSON-lines file; each line is flushed to disk before returning."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._written = threading.Condition()

    def record(self, entry: JournalEntry) -> None:
        line = json.dumps(asdict(entry), sort_keys=True) + "\n"
        with self._written:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            self._written.notify_all()

    def wait_for(self, plate_id: str, outcome: Outcome, timeout: float) -> bool:
        """Block until the journal records `outcome` for the plate (or `timeout` passes)."""

        def recorded() -> bool:
            return any(
                entry.plate_id == plate_id and entry.outcome == outcome for entry in self.entries()
            )

        with self._written:
            return self._written.wait_for(recorded, timeout)

    def entries(self) -> list[JournalEntry]:
        return read_journal(self.path)


def read_journal(path: Path) -> list[JournalEntry]:
    """Every entry of a journal file, oldest first (empty when there is none yet)."""
    if not path.exists():
        return []
    entries: list[JournalEntry] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        for key in ("printed", "cancelled", "failed"):
            raw[key] = tuple(raw.get(key, ()))
        entries.append(JournalEntry(**raw))
    return entries


def printed_objects(entries: Sequence[JournalEntry]) -> list[tuple[str, str]]:
    """(plate_id, object label) for every object a finished plate printed."""
    return [
        (entry.plate_id, label)
        for entry in entries
        if entry.outcome == "finished"
        for label in entry.printed
    ]
