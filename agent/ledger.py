"""The plate ledger: which plates this printer has received and run, and whether
its bed is confirmed clear or the printer is in maintenance.

It lives in the agent's database so the agent keeps its promises across a
restart: a plate that already ran is never run again when the controller
re-sends it, and a bed that was not cleared is still not clear after a reboot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from agent.store import AgentStore


class PlateStatus(StrEnum):
    REJECTED = "rejected"  # refused before running; a corrected re-send may be tried
    PRINTING = "printing"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def ran(self) -> bool:
        """True once the printer started the plate: it is never run a second time."""
        return self is not PlateStatus.REJECTED


@dataclass(frozen=True)
class PlateRecord:
    plate_id: str
    sha256: str
    status: PlateStatus
    reason: str = ""
    parts: dict[str, str] = field(default_factory=dict)  # part id -> object label

    def part_for(self, label: str) -> str | None:
        for part_id, part_label in self.parts.items():
            if part_label == label:
                return part_id
        return None


def _record(row: tuple[object, ...]) -> PlateRecord:
    return PlateRecord(
        str(row[0]), str(row[1]), PlateStatus(str(row[2])), str(row[3]), json.loads(str(row[4]))
    )


class PlateLedger:
    def __init__(self, store: AgentStore) -> None:
        self._store = store
        self._flags: dict[str, bool] = {}  # write-through cache: read on every state

    def get(self, plate_id: str) -> PlateRecord | None:
        rows = self._store.query(
            "SELECT plate_id, sha256, status, reason, parts FROM plates WHERE plate_id = ?",
            (plate_id,),
        )
        return _record(rows[0]) if rows else None

    def put(self, record: PlateRecord) -> None:
        self._store.execute(
            "INSERT INTO plates (plate_id, sha256, status, reason, parts, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(plate_id) DO UPDATE SET "
            "sha256 = excluded.sha256, status = excluded.status, reason = excluded.reason, "
            "parts = excluded.parts, updated_at = excluded.updated_at",
            (
                record.plate_id,
                record.sha256,
                record.status.value,
                record.reason,
                json.dumps(record.parts),
                datetime.now(UTC).isoformat(),
            ),
        )

    def printing(self) -> list[PlateRecord]:
        """Plates the ledger believes are on the printer right now."""
        rows = self._store.query(
            "SELECT plate_id, sha256, status, reason, parts FROM plates WHERE status = ?",
            (PlateStatus.PRINTING.value,),
        )
        return [_record(row) for row in rows]

    def latest_run(self) -> PlateRecord | None:
        """The plate the printer ran most recently (the one on the bed until cleared)."""
        rows = self._store.query(
            "SELECT plate_id, sha256, status, reason, parts FROM plates WHERE status != ? "
            "ORDER BY updated_at DESC LIMIT 1",
            (PlateStatus.REJECTED.value,),
        )
        return _record(rows[0]) if rows else None

    @property
    def bed_clear(self) -> bool:
        """Whether staff confirmed the bed empty since the last plate (a new printer's is)."""
        return self._flag("bed_clear", default=True)

    def set_bed_clear(self, clear: bool) -> None:
        self._set_flag("bed_clear", clear)

    @property
    def maintenance(self) -> bool:
        return self._flag("maintenance", default=False)

    def set_maintenance(self, on: bool) -> None:
        self._set_flag("maintenance", on)

    def _flag(self, key: str, default: bool) -> bool:
        if key not in self._flags:
            rows = self._store.query("SELECT value FROM printer WHERE key = ?", (key,))
            self._flags[key] = default if not rows else rows[0][0] == "1"
        return self._flags[key]

    def _set_flag(self, key: str, value: bool) -> None:
        self._store.execute(
            "INSERT INTO printer (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, "1" if value else "0"),
        )
        self._flags[key] = value
