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

News waits in the fleet's queue until its transaction commits, and meanwhile the printer
keeps reporting. A report that would be a heartbeat after the news still waiting (`queued`)
is folded into it: acknowledged at once, and its heartbeat row held back until that news is
`applied` (written earlier, it would move the row's sequence past the news, which would
then be dropped as stale). Without this, a controller that starts in front of thousands of
printers sees every report as news until the first batch commits, and a batch that takes a
second keeps the next one as big, and so on.
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


@dataclass
class _Queued:
    """The newest news of a printer waiting for its commit, and the heartbeats after it."""

    known: _Known  # as it will be once applied (sequence: the last folded heartbeat's)
    news_sequence: int
    heartbeat: dict[str, Any] | None = None  # the row to save once applied


def _content(site: str, state: PrinterState) -> tuple[object, ...]:
    """What `record_printer_state` acts on, apart from the heartbeat fields."""
    return (site, state.state, state.profile_id, state.material, state.colour)


class StateIngest:
    """Sorts incoming states (see the module docstring) and keeps unsaved heartbeats."""

    def __init__(self) -> None:
        self._known: dict[str, _Known] = {}
        self._queued: dict[str, _Queued] = {}
        self._heartbeats: dict[str, dict[str, Any]] = {}  # printer -> row for the bulk UPDATE

    def __len__(self) -> int:
        return len(self._known)

    def sort(self, site: str, printer: str, state: PrinterState, seen: datetime) -> Verdict:
        """Classify one report; a heartbeat is remembered for the next `take_heartbeats`
        (or, after news still waiting, for when that news is applied)."""
        queued = self._queued.get(printer)
        known = queued.known if queued is not None else self._known.get(printer)
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
        row = {
            "printer": printer,
            "run_id": state.run_id,
            "connection": state.connection,
            "sequence": state.sequence,
            "at": state.at,
            "seen": seen,
        }
        if queued is not None:
            queued.heartbeat = row
        else:
            self._heartbeats[printer] = row
        return Verdict.HEARTBEAT

    def queued(self, site: str, printer: str, state: PrinterState) -> None:
        """This news is on its way to the database: reports after it compare with it."""
        self._queued[printer] = _Queued(
            _Known(site, state.run_id, state.connection, state.sequence, _content(site, state)),
            state.sequence,
        )

    def applied(self, site: str, printer: str, state: PrinterState) -> None:
        """`record_printer_state` committed this report: it is the printer's newest (with
        the heartbeats folded into it, when it was the news last queued)."""
        self._heartbeats.pop(printer, None)
        queued = self._queued.get(printer)
        if queued is not None and (
            queued.known.run_id,
            queued.known.connection,
            queued.news_sequence,
        ) == (state.run_id, state.connection, state.sequence):
            del self._queued[printer]
            self._known[printer] = queued.known
            if queued.heartbeat is not None:
                self._heartbeats[printer] = queued.heartbeat
            return
        self._known[printer] = _Known(
            site, state.run_id, state.connection, state.sequence, _content(site, state)
        )

    def forget(self, printer: str) -> None:
        """The printer's report was refused: treat its next one as news again."""
        self._known.pop(printer, None)
        self._queued.pop(printer, None)
        self._heartbeats.pop(printer, None)

    def not_applied(self, printer: str) -> None:
        """The transaction of the printer's queued news failed: what follows is compared
        with what was applied before (so it is news again)."""
        self._queued.pop(printer, None)

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
