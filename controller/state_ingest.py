"""Printer states in memory: which report is news for the database, which only says "alive".

Every printer reports its retained state every second, and almost every report repeats what
the farm already knows: same run, next sequence number, same status, profile and spool. Such
a report is a *heartbeat*: the controller remembers its sequence, time and `last_seen` here
and writes them to the database in bulk every few seconds (`take_heartbeats`), instead of
one ORM load and UPDATE per report. Everything else is *news* and goes through
`record_printer_state` in a transaction, as before: the first report after the controller
started, a changed status/profile/spool/site, a new agent run or connection, an offline
will, and any gap in the sequence (a report this controller never saw, e.g. one another
controller took from a shared subscription, might have changed something). A report older
than the newest one applied is *stale* and changes nothing.

Only `record_printer_state` changes the fields compared here, so after it committed a
report (`applied`), a report that repeats those fields cannot change the database row
beyond the heartbeat fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import Table, bindparam, update
from sqlmodel import Session

from controller.db.tables import Printer
from protocol.messages.printer import PrinterState, PrinterStatus

_PRINTERS: Table = Printer.__table__  # type: ignore[attr-defined]


class Verdict(Enum):
    STALE = "stale"
    HEARTBEAT = "heartbeat"
    NEWS = "news"


@dataclass
class _Known:
    """The newest report of one printer this controller has applied or remembered."""

    site: str
    run_id: str
    connection: int
    sequence: int
    content: tuple[object, ...]


def _content(site: str, state: PrinterState) -> tuple[object, ...]:
    """What `record_printer_state` acts on, apart from the heartbeat fields."""
    return (site, state.state, state.profile_id, state.material, state.colour)


class StateIngest:
    """Sorts incoming states (see the module docstring) and keeps unsaved heartbeats."""

    def __init__(self) -> None:
        self._known: dict[str, _Known] = {}
        self._heartbeats: dict[str, dict[str, Any]] = {}  # printer -> row for the bulk UPDATE

    def __len__(self) -> int:
        return len(self._known)

    def sort(self, site: str, printer: str, state: PrinterState, seen: datetime) -> Verdict:
        """Classify one report; a heartbeat is remembered for the next `take_heartbeats`."""
        known = self._known.get(printer)
        if known is None or known.run_id != state.run_id:
            return Verdict.NEWS
        if (state.connection, state.sequence) <= (known.connection, known.sequence):
            return Verdict.STALE
        if (
            state.state == PrinterStatus.OFFLINE
            or state.connection != known.connection
            or state.sequence != known.sequence + 1
            or _content(site, state) != known.content
        ):
            return Verdict.NEWS
        known.sequence = state.sequence
        self._heartbeats[printer] = {
            "printer": printer,
            "run_id": state.run_id,
            "connection": state.connection,
            "sequence": state.sequence,
            "at": state.at,
            "seen": seen,
        }
        return Verdict.HEARTBEAT

    def applied(self, site: str, printer: str, state: PrinterState) -> None:
        """`record_printer_state` committed this report: it is the printer's newest."""
        self._heartbeats.pop(printer, None)
        self._known[printer] = _Known(
            site, state.run_id, state.connection, state.sequence, _content(site, state)
        )

    def forget(self, printer: str) -> None:
        """The printer's report was refused: treat its next one as news again."""
        self._known.pop(printer, None)
        self._heartbeats.pop(printer, None)

    def take_heartbeats(self) -> list[dict[str, Any]]:
        """The heartbeats not yet written (each printer's newest) as rows for
        `save_heartbeats`; they are forgotten here."""
        rows, self._heartbeats = list(self._heartbeats.values()), {}
        return rows


# Only moves a row forward within the run and connection it already holds: a heartbeat
# never undoes a newer report `record_printer_state` wrote meanwhile.
_SAVE_HEARTBEAT = (
    update(_PRINTERS)
    .where(
        _PRINTERS.c.id == bindparam("printer"),
        _PRINTERS.c.state_run_id == bindparam("run_id"),
        _PRINTERS.c.state_connection == bindparam("connection"),
        _PRINTERS.c.state_seq < bindparam("sequence"),
    )
    .values(state_seq=bindparam("sequence"), state_at=bindparam("at"), last_seen=bindparam("seen"))
)


def save_heartbeats(session: Session, rows: list[dict[str, Any]]) -> int:
    """Write heartbeats (from `StateIngest.take_heartbeats`) in one executemany UPDATE;
    returns how many rows moved."""
    if not rows:
        return 0
    result = session.connection().execute(_SAVE_HEARTBEAT, rows)
    return int(result.rowcount)
