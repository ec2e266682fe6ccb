"""The fleet summaries the staff TUI reads (retained under `fleet/`), built from the database.

`build_summaries(session)` returns (topic, payload) pairs for every printer, the queue, each
site's plates and line, and the open alerts, all stamped with the same time. It reads; it
never changes anything.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

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
_NOT_STARTED = ("planned", "slicing", "sliced")
_ONLINE_WAITING = (PrinterStatus.AWAITING_BED_CLEAR, PrinterStatus.NEEDS_OPERATOR)


def build_summaries(session: Session) -> list[tuple[str, bytes]]:
    now = datetime.now(UTC)
    printers = list(session.exec(select(Printer).order_by(col(Printer.id))))
    sites = list(session.exec(select(Site).order_by(col(Site.id))))
    open_plates = list(
        session.exec(
            select(Plate)
            .where(col(Plate.state).not_in([s.value for s in FINAL_PLATE_STATES]))
            .order_by(col(Plate.printer_id), col(Plate.sequence))
        )
    )
    out: list[tuple[str, bytes]] = []
    queued_by_printer = Counter(plate.printer_id for plate in open_plates)
    for printer in printers:
        summary = _printer_summary(printer, queued_by_printer[printer.id], open_plates, now)
        out.append((topics.fleet_printer_topic(printer.site_id, printer.id), encode(summary)))
    out.append((topics.fleet_queue_topic(), encode(_queue_summary(session, now))))
    site_of = {printer.id: printer.site_id for printer in printers}
    parts_on = Counter(
        session.exec(
            select(PlatePart.plate_id).where(
                col(PlatePart.plate_id).in_([p.id for p in open_plates])
            )
        )
    )
    for site in sites:
        plates = [p for p in open_plates if site_of.get(p.printer_id) == site.id]
        out.append(
            (
                topics.fleet_plates_topic(site.id),
                encode(_plate_list(session, site, plates, printers, now)),
            )
        )
        site_printers = [p for p in printers if p.site_id == site.id]
        waiting = sum(parts_on[p.id] for p in plates if p.state in _NOT_STARTED)
        out.append(
            (
                topics.fleet_site_topic(site.id),
                encode(_site_summary(site, site_printers, plates, waiting, now)),
            )
        )
    out.append((topics.fleet_alerts_topic(), encode(_alerts(printers, now))))
    return out


def _printer_summary(
    printer: Printer, queued: int, plates: list[Plate], now: datetime
) -> FleetPrinterSummary:
    current = next(
        (
            p
            for p in plates
            if p.printer_id == printer.id and p.state in ("dispatched", "printing", "finished")
        ),
        None,
    )
    return FleetPrinterSummary(
        site_id=printer.site_id,
        printer_id=printer.id,
        name=printer.id,
        profile_id=printer.profile_id,
        state=PrinterStatus(printer.state),
        material=printer.loaded_material,
        colour=printer.loaded_colour,
        plate_id=current.id if current else None,
        queued_plates=queued,
        last_seen_at=printer.last_seen,
        updated_at=now,
    )


def _queue_summary(session: Session, now: datetime) -> QueueSummary:
    jobs = list(
        session.exec(select(Job).where(col(Job.state).in_([s.value for s in OPEN_JOB_STATES])))
    )
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    by_material: Counter[str] = Counter()
    for part in session.exec(
        select(Part)
        .join(Job, col(Part.job_id) == Job.id)
        .where(col(Job.state).in_([s.value for s in OPEN_JOB_STATES]))
    ):
        counts[part.job_id][part.state] += 1
        if part.state in PARTS_WAITING:
            by_material[_material_of(jobs, part.job_id)] += 1
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


def _material_of(jobs: list[Job], job_id: str) -> str:
    for job in jobs:
        if job.id == job_id:
            return job.material
    return "?"


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
    session: Session, site: Site, plates: list[Plate], printers: list[Printer], now: datetime
) -> PlateList:
    from firmware_profiles import load_profile

    profile_of = {p.id: p.profile_id for p in printers}
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
                parts=tuple(_placed_parts(session, plate.id)),
                starts_at=plate.started_at or plate.planned_start,
                ends_at=plate.finished_at or plate.planned_end,
            )
        )
    return PlateList(site_id=site.id, plates=tuple(summaries), updated_at=now)


def _placed_parts(session: Session, plate_id: str) -> Iterable[PlacedPart]:
    rows = session.exec(
        select(PlatePart, Part, Mesh)
        .join(Part, col(PlatePart.part_id) == Part.id)
        .join(Job, col(Part.job_id) == Job.id)
        .join(Mesh, col(Job.mesh_sha256) == Mesh.sha256)
        .where(PlatePart.plate_id == plate_id)
    )
    for placed, part, mesh in rows:
        footprint = [(float(x), float(y)) for x, y in mesh.footprint]
        step = max(1, -(-len(footprint) // MAX_FOOTPRINT_POINTS))
        yield PlacedPart(
            part_id=part.id,
            job_id=part.job_id,
            x_mm=placed.x_mm,
            y_mm=placed.y_mm,
            rotation_deg=placed.rotation_deg,
            footprint=tuple(footprint[::step][:MAX_FOOTPRINT_POINTS]),
            state=wire_part_state(part.state),
        )


def _site_summary(
    site: Site, printers: list[Printer], plates: list[Plate], waiting: int, now: datetime
) -> SiteSummary:
    states = Counter(printer.state for printer in printers)
    needs = []
    for printer in printers:
        nxt = _next_plate(plates, printer.id)
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
        printers=len(printers),
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


def _next_plate(plates: list[Plate], printer_id: str) -> Plate | None:
    """The plate the printer will run next, as dispatch chooses it: a sliced one first (in
    queue order), else the one being sliced, else the first planned."""
    for state in ("sliced", "slicing", "planned"):
        waiting = [p for p in plates if p.printer_id == printer_id and p.state == state]
        if waiting:
            return min(waiting, key=lambda p: (p.sequence, p.planned_start or _EPOCH, p.id))
    return None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _alerts(printers: list[Printer], now: datetime) -> AlertList:
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
