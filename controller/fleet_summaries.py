"""The fleet summaries the staff TUI reads (retained under `fleet/`), built from the database.

`printer_summaries(session, ids)` returns (topic, payload) pairs for those printers;
`farm_summaries(session)` those of the queue, each site's plates and line, and the open
alerts. All of a call's summaries are stamped with the same time. They read; they never
change anything.

At thousands of printers the publisher never rebuilds every printer's summary at once (that
held the database thread for over a second at 5,000): it publishes the summaries of printers
that changed, refreshes the rest a slice at a time, and builds the farm-wide summaries from
plain rows of the printers' few columns they need.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Table, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from controller.db.tables import Job, Mesh, Part, Plate, PlatePart, Printer, Site
from controller.lifecycle.states import (
    FINAL_PLATE_STATES,
    OPEN_JOB_STATES,
    PARTS_WAITING,
    PartState,
    PrinterStatus,
    wire_part_state,
    wire_plate_state,
)
from protocol import topics
from protocol.codec import encode
from protocol.messages.fleet import (
    Alert,
    AlertList,
    FleetPrinterSummary,
    MaterialNeed,
    PlacedPart,
    PlateList,
    PlateSummary,
    QueuedJob,
    QueueSummary,
    Severity,
    SiteSummary,
)
from protocol.messages.jobs import PartCounts, Priority
from protocol.states import JobState

MAX_QUEUE_JOBS = 200
MAX_SITE_PLATES = 200
MAX_FOOTPRINT_POINTS = 64
AT_RISK = timedelta(hours=2)
CHUNK = 500  # ids per IN (...) query
_NOT_STARTED = ("planned", "slicing", "sliced")
_ON_PRINTER = ("dispatched", "printing", "finished")
_ONLINE_WAITING = (PrinterStatus.AWAITING_BED_CLEAR, PrinterStatus.NEEDS_OPERATOR)


@dataclass(frozen=True)
class _PrinterRow:
    """The columns of a printer the farm-wide summaries read."""

    id: str
    site_id: str
    profile_id: str
    state: str
    loaded_material: str | None
    loaded_colour: str | None
    grace_deadline: datetime | None
    state_at: datetime | None


_PRINTERS: Table = Printer.__table__  # type: ignore[attr-defined]
_PLATES: Table = Plate.__table__  # type: ignore[attr-defined]
_STATES_BY_SITE = sa_select(_PRINTERS.c.site_id, _PRINTERS.c.state, func.count()).group_by(
    _PRINTERS.c.site_id, _PRINTERS.c.state
)
_PRINTER_ROWS = sa_select(
    _PRINTERS.c.id,
    _PRINTERS.c.site_id,
    _PRINTERS.c.profile_id,
    _PRINTERS.c.state,
    _PRINTERS.c.loaded_material,
    _PRINTERS.c.loaded_colour,
    _PRINTERS.c.grace_deadline,
    _PRINTERS.c.state_at,
).order_by(_PRINTERS.c.id)


def printer_summaries(session: Session, printer_ids: Collection[str]) -> list[tuple[str, bytes]]:
    """The summaries of these printers (unknown ids are skipped), in id order."""
    if not printer_ids:
        return []
    session.flush()
    now = datetime.now(UTC)
    ids = sorted(set(printer_ids))
    out: list[tuple[str, bytes]] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        plates: dict[str, list[Plate]] = defaultdict(list)
        for plate in session.exec(
            select(Plate)
            .where(
                col(Plate.printer_id).in_(chunk),
                col(Plate.state).not_in([s.value for s in FINAL_PLATE_STATES]),
            )
            .order_by(col(Plate.printer_id), col(Plate.sequence))
        ):
            plates[plate.printer_id].append(plate)
        for printer in session.exec(
            select(Printer).where(col(Printer.id).in_(chunk)).order_by(col(Printer.id))
        ):
            summary = _printer_summary(printer, plates.get(printer.id, []), now)
            out.append((topics.fleet_printer_topic(printer.site_id, printer.id), encode(summary)))
    return out


def printers_of_plates(session: Session, plate_ids: Collection[str]) -> set[str]:
    """The printers these plates are on (whose summaries count them)."""
    ids = sorted(set(plate_ids))
    found: set[str] = set()
    for start in range(0, len(ids), CHUNK):
        found.update(
            session.exec(
                select(Plate.printer_id).where(col(Plate.id).in_(ids[start : start + CHUNK]))
            )
        )
    return found


def farm_summaries(session: Session) -> list[tuple[str, bytes]]:
    """The queue, each site's plates and line, and the open alerts. Printers are counted by
    the database (per site and state); only those with open plates or in trouble are read."""
    session.flush()
    now = datetime.now(UTC)
    sites = list(session.exec(select(Site).order_by(col(Site.id))))
    final = [s.value for s in FINAL_PLATE_STATES]
    open_plates = list(
        session.exec(
            select(Plate)
            .where(col(Plate.state).not_in(final))
            .order_by(col(Plate.printer_id), col(Plate.sequence))
        )
    )
    states_at: dict[str, Counter[str]] = defaultdict(Counter)
    for site_id, state, count in session.connection().execute(_STATES_BY_SITE):
        states_at[site_id][state] += count
    with_plates = sa_select(_PLATES.c.printer_id).where(_PLATES.c.state.not_in(final))
    printers = [
        _PrinterRow(*row)
        for row in session.connection().execute(
            _PRINTER_ROWS.where(
                _PRINTERS.c.id.in_(with_plates)
                | _PRINTERS.c.state.in_([PrinterStatus.ERROR, PrinterStatus.NEEDS_OPERATOR])
                | (
                    (_PRINTERS.c.state == PrinterStatus.OFFLINE)
                    & _PRINTERS.c.grace_deadline.is_not(None)
                )
            )
        )
    ]
    # The alert list goes before the site lines that count its alerts, so a screen that
    # shows "1 alert" from a site line already has the alert itself.
    out: list[tuple[str, bytes]] = [
        (topics.fleet_queue_topic(), encode(_queue_summary(session, now))),
        (topics.fleet_alerts_topic(), encode(_alerts(printers, now))),
    ]
    site_of = {printer.id: printer.site_id for printer in printers}
    profile_of = {printer.id: printer.profile_id for printer in printers}
    printers_at: dict[str, list[_PrinterRow]] = defaultdict(list)
    for printer in printers:
        printers_at[printer.site_id].append(printer)
    plates_at: dict[str, list[Plate]] = defaultdict(list)
    for plate in open_plates:
        plates_at[site_of.get(plate.printer_id, "")].append(plate)
    parts_on = Counter(
        session.exec(
            select(PlatePart.plate_id).where(
                col(PlatePart.plate_id).in_([p.id for p in open_plates])
            )
        )
    )
    listed = [plate for site in sites for plate in plates_at[site.id][:MAX_SITE_PLATES]]
    placed = _placed_parts(session, [plate.id for plate in listed])
    for site in sites:
        plates = plates_at[site.id]
        out.append(
            (
                topics.fleet_plates_topic(site.id),
                encode(_plate_list(site, plates, profile_of, placed, now)),
            )
        )
        waiting = sum(parts_on[p.id] for p in plates if p.state in _NOT_STARTED)
        summary = _site_summary(
            site, states_at[site.id], printers_at[site.id], plates, waiting, now
        )
        out.append((topics.fleet_site_topic(site.id), encode(summary)))
    return out


def _printer_summary(printer: Printer, plates: list[Plate], now: datetime) -> FleetPrinterSummary:
    """`plates`: the printer's open plates, in queue order."""
    current = next((p for p in plates if p.state in _ON_PRINTER), None)
    return FleetPrinterSummary(
        site_id=printer.site_id,
        printer_id=printer.id,
        name=printer.id,
        profile_id=printer.profile_id,
        state=PrinterStatus(printer.state),
        material=printer.loaded_material,
        colour=printer.loaded_colour,
        plate_id=current.id if current else None,
        queued_plates=len(plates),
        last_seen_at=printer.last_seen,
        updated_at=now,
    )


def _queue_summary(session: Session, now: datetime) -> QueueSummary:
    jobs = list(
        session.exec(select(Job).where(col(Job.state).in_([s.value for s in OPEN_JOB_STATES])))
    )
    material_of = {job.id: job.material for job in jobs}
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    by_material: Counter[str] = Counter()
    for part in session.exec(
        select(Part)
        .join(Job, col(Part.job_id) == Job.id)
        .where(col(Job.state).in_([s.value for s in OPEN_JOB_STATES]))
    ):
        counts[part.job_id][part.state] += 1
        if part.state in PARTS_WAITING:
            by_material[material_of.get(part.job_id, "?")] += 1
    queued = [_queued_job(job, counts[job.id], now) for job in jobs]
    queued.sort(
        key=lambda q: (not q.late, not q.at_risk, q.due or datetime.max.replace(tzinfo=UTC))
    )
    all_states = Counter(session.exec(select(Job.state)))
    return QueueSummary(
        jobs_by_state={JobState(state): n for state, n in all_states.items()},
        parts_by_material=dict(by_material.most_common(64)),
        jobs_by_shop=dict(Counter(job.shop_id for job in jobs).most_common(2000)),
        late=sum(q.late for q in queued),
        at_risk=sum(q.at_risk for q in queued),
        jobs=tuple(queued[:MAX_QUEUE_JOBS]),
        updated_at=now,
    )


def _queued_job(job: Job, states: Counter[str], now: datetime) -> QueuedJob:
    waiting = sum(states[s] for s in PARTS_WAITING) + states[PartState.DISPATCHED]
    parts = PartCounts(
        queued=waiting,
        printing=states[PartState.PRINTING],
        printed=states[PartState.PRINTED],
        failed=states[PartState.FAILED],
        cancelled=states[PartState.CANCELLED],
    )
    late = job.due is not None and job.due < now
    at_risk = job.due is not None and not late and job.due - now < AT_RISK
    return QueuedJob(
        job_id=job.id,
        shop_id=job.shop_id,
        client_ref=job.client_ref,
        state=JobState(job.state),
        material=job.material,
        colour=job.colour,
        quantity=job.quantity,
        parts=parts,
        priority=Priority(job.priority),
        due=job.due,
        late=late,
        at_risk=at_risk,
    )


def _plate_list(
    site: Site,
    plates: list[Plate],
    profile_of: dict[str, str],
    placed: dict[str, list[PlacedPart]],
    now: datetime,
) -> PlateList:
    from firmware_profiles import load_profile

    summaries = []
    for plate in plates[:MAX_SITE_PLATES]:
        machine = load_profile(profile_of[plate.printer_id]).machine
        summaries.append(
            PlateSummary(
                plate_id=plate.id,
                site_id=site.id,
                printer_id=plate.printer_id,
                material=plate.material,
                colour=plate.colour,
                state=wire_plate_state(plate.state),
                bed_width_mm=machine.bed_x_mm,
                bed_depth_mm=machine.bed_y_mm,
                parts=tuple(placed.get(plate.id, ())),
                starts_at=plate.started_at or plate.planned_start,
                ends_at=plate.finished_at or plate.planned_end,
            )
        )
    return PlateList(site_id=site.id, plates=tuple(summaries), updated_at=now)


def _placed_parts(session: Session, plate_ids: list[str]) -> dict[str, list[PlacedPart]]:
    """The parts on each of these plates, with their outlines (a few queries for all)."""
    placed: dict[str, list[PlacedPart]] = defaultdict(list)
    for start in range(0, len(plate_ids), CHUNK):
        rows = session.exec(
            select(PlatePart, Part, Mesh)
            .join(Part, col(PlatePart.part_id) == Part.id)
            .join(Job, col(Part.job_id) == Job.id)
            .join(Mesh, col(Job.mesh_sha256) == Mesh.sha256)
            .where(col(PlatePart.plate_id).in_(plate_ids[start : start + CHUNK]))
        )
        for position, part, mesh in rows:
            placed[position.plate_id].append(_placed_part(position, part, mesh))
    return placed


def _placed_part(position: PlatePart, part: Part, mesh: Mesh) -> PlacedPart:
    footprint = [(float(x), float(y)) for x, y in mesh.footprint]
    step = max(1, -(-len(footprint) // MAX_FOOTPRINT_POINTS))
    return PlacedPart(
        part_id=part.id,
        job_id=part.job_id,
        x_mm=position.x_mm,
        y_mm=position.y_mm,
        rotation_deg=position.rotation_deg,
        footprint=tuple(footprint[::step][:MAX_FOOTPRINT_POINTS]),
        state=wire_part_state(part.state),
    )


def _site_summary(
    site: Site,
    states: Counter[str],
    printers: list[_PrinterRow],
    plates: list[Plate],
    waiting: int,
    now: datetime,
) -> SiteSummary:
    """`states`: the site's printers counted by state; `printers`: those with open plates
    (the ones that may need a spool) or in trouble."""
    plates_of: dict[str, list[Plate]] = defaultdict(list)
    for plate in plates:
        plates_of[plate.printer_id].append(plate)
    needs = []
    for printer in printers:
        nxt = _next_plate(plates_of.get(printer.id, []))
        if nxt and (nxt.material, nxt.colour) != (printer.loaded_material, printer.loaded_colour):
            needs.append(
                MaterialNeed(
                    material=nxt.material,
                    colour=nxt.colour,
                    printer_id=printer.id,
                    needed_at=nxt.planned_start,
                )
            )
    return SiteSummary(
        site_id=site.id,
        name=site.name or site.id,
        timezone=site.tz,
        printers=sum(states.values()),
        printing=states[PrinterStatus.PRINTING],
        idle=states[PrinterStatus.IDLE],
        waiting_for_staff=sum(states[s] for s in _ONLINE_WAITING),
        offline=states[PrinterStatus.OFFLINE],
        error=states[PrinterStatus.ERROR],
        maintenance=states[PrinterStatus.MAINTENANCE],
        parts_queued=waiting,
        materials_needed_next=tuple(needs[:32]),
        updated_at=now,
    )


def _next_plate(plates: list[Plate]) -> Plate | None:
    """The plate a printer will run next (`plates`: its open ones), as dispatch chooses it:
    a sliced one first (in queue order), else the one being sliced, else the first planned."""
    for state in ("sliced", "slicing", "planned"):
        waiting = [p for p in plates if p.state == state]
        if waiting:
            return min(waiting, key=lambda p: (p.sequence, p.planned_start or _EPOCH, p.id))
    return None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _alerts(printers: list[_PrinterRow], now: datetime) -> AlertList:
    alerts = []
    for printer in printers:
        if printer.state == PrinterStatus.ERROR:
            message, severity = f"printer {printer.id} reports an error", Severity.CRITICAL
        elif printer.state == PrinterStatus.NEEDS_OPERATOR:
            message, severity = f"printer {printer.id} needs an operator", Severity.WARNING
        elif printer.state == PrinterStatus.OFFLINE and printer.grace_deadline is not None:
            message = (
                f"printer {printer.id} went offline mid-print; its plate is "
                f"interrupted at {printer.grace_deadline:%H:%M:%S} UTC unless it returns"
            )
            severity = Severity.WARNING
        else:
            continue
        alerts.append(
            Alert(
                alert_id=f"printer-{printer.id}"[:64],
                severity=severity,
                message=message,
                site_id=printer.site_id,
                printer_id=printer.id,
                raised_at=printer.state_at or now,
            )
        )
    return AlertList(alerts=tuple(alerts), updated_at=now)
