"""The four checks after every fault trial, each from evidence the controller did not write.

- every accepted job completes: the shops' own view (their retained status topics, as the
  `JobTracker` saw them arrive);
- every part printed exactly once: what the printers ran, from each agent's print journal
  (written by the printer back-end as it prints) and its plate ledger (the part id behind
  each object label, written when the plate reached the printer), against the parts the
  jobs were accepted with (one per unit of quantity);
- no plate started on an uncleared bed: the journal's plate starts against the moments the
  staff sent a bed clear that the controller accepted (its answer may have died with it,
  so acceptance is read from the controller's ledger of processed commands);
- the event log is consistent: for every job, part and plate, each state change starts
  where the previous one ended (no gaps), is allowed by its state machine, and the chain
  ends in the state the table holds now.

`collect()` returns a `Verdict` with the figures and a list of violations written for a
person; a trial passes when the list is empty.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from agent.journal import JournalEntry, read_journal
from controller.lifecycle.states import (
    JOB_TRANSITIONS,
    PART_TRANSITIONS,
    PLATE_TRANSITIONS,
    JobState,
    PartState,
    PlateState,
)
from protocol.messages.jobs import JobStatus
from protocol.states import JobState as WireJobState

_MACHINES: dict[str, tuple[type[StrEnum], Mapping[Any, frozenset[Any]], str]] = {
    "job": (JobState, JOB_TRANSITIONS, "jobs"),
    "part": (PartState, PART_TRANSITIONS, "parts"),
    "plate": (PlateState, PLATE_TRANSITIONS, "plates"),
}


@dataclass
class Verdict:
    accepted: int = 0
    completed: int = 0
    parts_expected: int = 0
    parts_printed: int = 0
    duplicates: int = 0
    plates_started: int = 0
    events_checked: int = 0
    violations: list[str] = field(default_factory=list)

    def fail(self, line: str) -> None:
        self.violations.append(line)


def engine_for(db_url: str) -> Engine:
    url = make_url(db_url)
    if url.get_backend_name() == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(url)


@dataclass(frozen=True)
class PrinterRecord:
    """What one printer ran, from its agent's spool directory."""

    journal: list[JournalEntry]
    parts_by_plate: dict[str, dict[str, str]]  # plate id -> object label -> part id


def read_printer(spool_dir: Path) -> PrinterRecord:
    journal = read_journal(spool_dir / "journal.jsonl")
    parts: dict[str, dict[str, str]] = {}
    ledger = spool_dir / "agent.sqlite"
    if ledger.exists():
        connection = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=10)
        try:
            for plate_id, raw in connection.execute("SELECT plate_id, parts FROM plates"):
                parts[str(plate_id)] = {label: part for part, label in json.loads(raw).items()}
        finally:
            connection.close()
    return PrinterRecord(journal, parts)


def accepted_clears(
    db_url: str, sent: list[tuple[str, str, str, datetime]]
) -> dict[str, list[datetime]]:
    """When staff sent each bed clear the controller accepted, by printer. `sent` is
    (site, printer, command id, sent at)."""
    engine = engine_for(db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT message_id, result FROM processed_messages WHERE source = 'staff'")
            )
            results = {
                str(key): value if isinstance(value, dict) else json.loads(value)
                for key, value in rows
            }
    finally:
        engine.dispose()
    cleared: dict[str, list[datetime]] = defaultdict(list)
    for site, printer, command_id, at in sent:
        if results.get(f"{site}:{command_id}", {}).get("accepted"):
            cleared[printer].append(at)
    return dict(cleared)


def collect(
    db_url: str,
    printers: dict[str, PrinterRecord],
    history: dict[str, list[JobStatus]],
    quantities: dict[str, int],
    cleared_at: dict[str, list[datetime]],
) -> Verdict:
    """Check a finished trial (see the module docstring). `history` is every status each
    job went through, `quantities` each submitted job's quantity by client_ref."""
    verdict = Verdict()
    _jobs_completed(verdict, history)
    _parts_printed_once(verdict, db_url, printers, history, quantities)
    _beds_cleared(verdict, printers, cleared_at)
    _event_log(verdict, db_url)
    return verdict


def _jobs_completed(verdict: Verdict, history: dict[str, list[JobStatus]]) -> None:
    for ref, statuses in sorted(history.items()):
        if not any(s.state != WireJobState.REJECTED for s in statuses):
            continue
        verdict.accepted += 1
        last = statuses[-1]
        if last.state == WireJobState.DONE:
            verdict.completed += 1
        else:
            verdict.fail(f"job {ref} was accepted but is {last.state.value}: {last.reason}")
        times = [s.updated_at for s in statuses]
        if times != sorted(times):
            verdict.fail(f"job {ref}: statuses arrived out of order")


def _parts_printed_once(
    verdict: Verdict,
    db_url: str,
    printers: dict[str, PrinterRecord],
    history: dict[str, list[JobStatus]],
    quantities: dict[str, int],
) -> None:
    job_ids = {statuses[-1].job_id: ref for ref, statuses in history.items() if statuses}
    engine = engine_for(db_url)
    try:
        with engine.connect() as connection:
            rows = list(connection.execute(text("SELECT id, job_id FROM parts")))
    finally:
        engine.dispose()
    expected: dict[str, str] = {}  # part id -> client_ref
    per_job: Counter[str] = Counter()
    for part_id, job_id in rows:
        if job_id in job_ids:
            expected[part_id] = job_ids[job_id]
            per_job[job_ids[job_id]] += 1
    for ref, n in per_job.items():
        if n != quantities.get(ref, n):
            verdict.fail(f"job {ref} has {n} parts, but {quantities[ref]} were ordered")
    printed: Counter[str] = Counter()
    for printer, record in sorted(printers.items()):
        for entry in record.journal:
            if entry.outcome == "started":
                verdict.plates_started += 1
            if entry.outcome != "finished":
                continue
            labels = record.parts_by_plate.get(entry.plate_id)
            if labels is None:
                verdict.fail(f"{printer} printed plate {entry.plate_id}, which it never received")
                continue
            for label in entry.printed:
                part = labels.get(label)
                if part is None:
                    verdict.fail(f"{printer}: plate {entry.plate_id} has no object {label}")
                else:
                    printed[part] += 1
    verdict.parts_expected = len(expected)
    verdict.parts_printed = sum(1 for part in expected if printed[part] >= 1)
    twice = {part: n for part, n in printed.items() if n > 1}
    verdict.duplicates = sum(n - 1 for n in twice.values())
    for part, n in sorted(twice.items()):
        verdict.fail(f"part {part} was printed {n} times")
    missing = sorted(part for part in expected if printed[part] == 0)
    if missing:
        verdict.fail(f"{len(missing)} part(s) never printed, e.g. {', '.join(missing[:5])}")
    stray = sorted(part for part in printed if part not in expected)
    if stray:
        verdict.fail(f"{len(stray)} printed part(s) belong to no accepted job: {stray[:5]}")


def _beds_cleared(
    verdict: Verdict, printers: dict[str, PrinterRecord], cleared_at: dict[str, list[datetime]]
) -> None:
    """Between two plate starts on one printer the staff cleared its bed (after the first
    plate ended, or after it started when its end was never journalled: the agent died)."""
    for printer, record in sorted(printers.items()):
        clears = sorted(cleared_at.get(printer, []))
        entries = record.journal
        starts = [i for i, e in enumerate(entries) if e.outcome == "started"]
        for first, second in itertools.pairwise(starts):
            ends = [e for e in entries[first + 1 : second] if e.plate_id == entries[first].plate_id]
            since = datetime.fromisoformat((ends[-1] if ends else entries[first]).at)
            began = datetime.fromisoformat(entries[second].at)
            if not any(since <= t <= began for t in clears):
                verdict.fail(
                    f"{printer}: plate {entries[second].plate_id} started at {began} on a bed "
                    f"not cleared since plate {entries[first].plate_id} ({since})"
                )


def _event_log(verdict: Verdict, db_url: str) -> None:
    engine = engine_for(db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT id, entity_kind, entity_id, from_state, to_state, kind FROM events"
                    " WHERE entity_kind IN ('job', 'part', 'plate') ORDER BY id"
                )
            )
            chains: dict[tuple[str, str], list[tuple[str | None, str, str]]] = defaultdict(list)
            for _id, kind, entity, from_state, to_state, event_kind in rows:
                chains[(kind, entity)].append((from_state, to_state, event_kind))
                verdict.events_checked += 1
            current = {
                (kind, str(entity)): str(state)
                for kind, (_states, _table, table_name) in _MACHINES.items()
                for entity, state in connection.execute(text(f"SELECT id, state FROM {table_name}"))
            }
    finally:
        engine.dispose()
    for (kind, entity), events in sorted(chains.items()):
        for problem in _chain_problems(kind, events, current.get((kind, entity))):
            verdict.fail(f"event log: {kind} {entity}: {problem}")


def _chain_problems(
    kind: str, events: Iterable[tuple[str | None, str, str]], now: str | None
) -> list[str]:
    states, table, _ = _MACHINES[kind]
    changes = [(f, t, k) for f, t, k in events if f != t]
    problems: list[str] = []
    if not changes or changes[0][0] is not None:
        return [f"the first event is not its creation ({changes[:1]})"]
    for (_, previous_to, previous_kind), (f, t, k) in itertools.pairwise(changes):
        if f != previous_to:
            problems.append(f"gap: {previous_kind} ended {previous_to}, then {k} from {f}")
        elif states(t) not in table[states(f)]:
            problems.append(f"illegal transition {f} -> {t} ({k})")
    if now is not None and changes[-1][1] != now:
        problems.append(f"the log ends {changes[-1][1]} but the table says {now}")
    return problems
