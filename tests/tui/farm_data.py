"""Fixed farm data for the TUI tests: two makerspaces, printers in every state, a queue with
late and at-risk jobs, plates with part outlines, and alerts. Everything is dated from
`NOW`, so screens render the same on every run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
from protocol.messages.printer import EventKind, Heater, PrinterEvent, PrinterState, PrinterStatus
from protocol.states import JobState, PartState, PlateState
from protocol.topics import ParsedTopic, TopicKind
from tui.store import FleetStore

NOW = datetime(2025, 3, 14, 13, 0, tzinfo=UTC)
S = PrinterStatus

# site, printer, name, state, material, colour, plate, progress, seconds_left, queued
PRINTERS = (
    ("berlin", "mk4-01", "MK4 #1", S.PRINTING, "PLA", "black", "plate-101", 0.42, 3900, 2),
    ("berlin", "mk4-02", "MK4 #2", S.PRINTING, "PETG", "#ff8800", "plate-102", 0.91, 420, 1),
    ("berlin", "mk4-03", "MK4 #3", S.AWAITING_BED_CLEAR, "PLA", "white", "plate-103", 1.0, 0, 1),
    ("berlin", "mk4-04", "MK4 #4", S.IDLE, "PLA", "red", None, None, None, 0),
    ("berlin", "mk4-05", "MK4 #5", S.ERROR, "ABS", "grey", "plate-105", 0.13, 8000, 0),
    ("berlin", "mini-01", "Mini", S.PAUSED, "PLA", "blue", "plate-106", 0.5, 1800, 0),
    ("leipzig", "voron-1", "Voron 2.4", S.PRINTING, "ASA", "black", "plate-201", 0.07, 16000, 3),
    (
        "leipzig",
        "voron-2",
        "Voron 0.2",
        S.NEEDS_OPERATOR,
        "PLA",
        "green",
        "plate-202",
        0.6,
        2000,
        0,
    ),
    ("leipzig", "x1c-1", "X1C", S.OFFLINE, None, None, None, None, None, 0),
    ("leipzig", "x1c-2", "X1C #2", S.MAINTENANCE, "PETG", "black", None, None, None, 0),
)
TEMPS = {
    S.PRINTING: (215.0, 215.0, 60.0, 60.0),
    S.PAUSED: (170.0, 170.0, 60.0, 60.0),
    S.ERROR: (31.0, 0.0, 24.0, 0.0),
    S.NEEDS_OPERATOR: (205.0, 205.0, 55.0, 55.0),
}


def printer_summary(
    site: str,
    printer: str,
    name: str,
    state: PrinterStatus,
    material: str | None,
    colour: str | None,
    plate: str | None,
    progress: float | None,
    seconds_left: float | None,
    queued: int,
    at: datetime = NOW,
) -> FleetPrinterSummary:
    return FleetPrinterSummary(
        site_id=site,
        printer_id=printer,
        name=name,
        profile_id="prusa-mk4",
        state=state,
        material=material,
        colour=colour,
        plate_id=plate,
        progress=progress,
        seconds_left=seconds_left,
        queued_plates=queued,
        error="thermal runaway on the hotend" if state is S.ERROR else "",
        updated_at=at,
        last_seen_at=at - timedelta(minutes=25) if state is S.OFFLINE else at,
    )


def agent_state(
    state: PrinterStatus,
    sequence: int,
    nozzle: float,
    bed: float,
    target: tuple[float, float],
    plate: str | None = None,
    progress: float | None = None,
    seconds_left: float | None = None,
    material: str | None = "PLA",
    colour: str | None = "black",
    at: datetime = NOW,
    error: str = "",
) -> PrinterState:
    return PrinterState(
        state=state,
        profile_id="prusa-mk4",
        material=material,
        colour=colour,
        plate_id=plate,
        progress=progress,
        seconds_left=seconds_left,
        nozzle=Heater(current_c=nozzle, target_c=target[0]),
        bed=Heater(current_c=bed, target_c=target[1]),
        error=error,
        agent_version="1.0",
        at=at,
        run_id="run1",
        connection=1,
        sequence=sequence,
    )


def _outline(width: float, depth: float) -> tuple[tuple[float, float], ...]:
    return ((0.0, 0.0), (width, 0.0), (width, depth), (0.0, depth))


def _gear(radius: float) -> tuple[tuple[float, float], ...]:
    import math

    return tuple(
        (radius * math.cos(a * math.pi / 8), radius * math.sin(a * math.pi / 8)) for a in range(16)
    )


def plates() -> list[PlateList]:
    p = PartState
    berlin = (
        PlateSummary(
            plate_id="plate-101",
            site_id="berlin",
            printer_id="mk4-01",
            material="PLA",
            colour="black",
            state=PlateState.PRINTING,
            bed_width_mm=250,
            bed_depth_mm=210,
            parts=(
                PlacedPart(
                    part_id="part-1",
                    job_id="job-7",
                    x_mm=20,
                    y_mm=20,
                    footprint=_outline(60, 40),
                    state=p.PRINTING,
                ),
                PlacedPart(
                    part_id="part-2",
                    job_id="job-7",
                    x_mm=100,
                    y_mm=20,
                    footprint=_outline(60, 40),
                    state=p.PRINTING,
                ),
                PlacedPart(
                    part_id="part-3",
                    job_id="job-8",
                    x_mm=60,
                    y_mm=140,
                    footprint=_gear(25),
                    state=p.CANCELLED,
                ),
                PlacedPart(
                    part_id="part-4",
                    job_id="job-9",
                    x_mm=200,
                    y_mm=120,
                    rotation_deg=45,
                    footprint=_outline(50, 20),
                    state=p.PRINTING,
                ),
            ),
            starts_at=NOW - timedelta(minutes=50),
            ends_at=NOW + timedelta(minutes=65),
        ),
        PlateSummary(
            plate_id="plate-103",
            site_id="berlin",
            printer_id="mk4-03",
            material="PLA",
            colour="white",
            state=PlateState.AWAITING_BED_CLEAR,
            bed_width_mm=250,
            bed_depth_mm=210,
            parts=(
                PlacedPart(
                    part_id="part-11",
                    job_id="job-8",
                    x_mm=40,
                    y_mm=40,
                    footprint=_gear(30),
                    state=p.PRINTED,
                ),
                PlacedPart(
                    part_id="part-12",
                    job_id="job-8",
                    x_mm=140,
                    y_mm=40,
                    footprint=_gear(30),
                    state=p.PRINTED,
                ),
            ),
            starts_at=NOW - timedelta(hours=3),
            ends_at=NOW - timedelta(minutes=5),
        ),
        PlateSummary(
            plate_id="plate-110",
            site_id="berlin",
            printer_id="mk4-04",
            material="PLA",
            colour="red",
            state=PlateState.PLANNED,
            bed_width_mm=250,
            bed_depth_mm=210,
            parts=(
                PlacedPart(
                    part_id="part-20",
                    job_id="job-10",
                    x_mm=80,
                    y_mm=60,
                    footprint=_outline(90, 90),
                    state=p.PLANNED,
                ),
            ),
            starts_at=NOW + timedelta(minutes=10),
            ends_at=NOW + timedelta(hours=2),
        ),
    )
    leipzig = (
        PlateSummary(
            plate_id="plate-201",
            site_id="leipzig",
            printer_id="voron-1",
            material="ASA",
            colour="black",
            state=PlateState.PRINTING,
            bed_width_mm=350,
            bed_depth_mm=350,
            parts=tuple(
                PlacedPart(
                    part_id=f"part-3{i}",
                    job_id="job-12",
                    x_mm=30 + 80 * (i % 4),
                    y_mm=30 + 80 * (i // 4),
                    footprint=_outline(60, 60),
                    state=p.PRINTING,
                )
                for i in range(8)
            ),
            starts_at=NOW - timedelta(minutes=20),
            ends_at=NOW + timedelta(hours=4, minutes=27),
        ),
    )
    return [
        PlateList(site_id="berlin", plates=berlin, updated_at=NOW),
        PlateList(site_id="leipzig", plates=leipzig, updated_at=NOW),
    ]


def queue() -> QueueSummary:
    def job(
        job_id: str,
        shop: str,
        ref: str,
        state: JobState,
        material: str,
        colour: str,
        qty: int,
        parts: PartCounts,
        due_h: float | None,
        late: bool = False,
        at_risk: bool = False,
        site: str | None = "berlin",
        priority: Priority = Priority.NORMAL,
    ) -> QueuedJob:
        return QueuedJob(
            job_id=job_id,
            shop_id=shop,
            client_ref=ref,
            state=state,
            material=material,
            colour=colour,
            quantity=qty,
            parts=parts,
            priority=priority,
            due=NOW + timedelta(hours=due_h) if due_h is not None else None,
            estimated_completion=NOW + timedelta(hours=(due_h or 5) + (1 if late else -1)),
            site_id=site,
            late=late,
            at_risk=at_risk,
        )

    jobs = (
        job(
            "job-8",
            "gearshop",
            "order-1184",
            JobState.PRINTING,
            "PLA",
            "white",
            3,
            PartCounts(printed=2, cancelled=1),
            -2,
            late=True,
        ),
        job(
            "job-7",
            "keychains",
            "kc-20931",
            JobState.PRINTING,
            "PLA",
            "black",
            2,
            PartCounts(printing=2),
            1.5,
            at_risk=True,
            priority=Priority.HIGH,
        ),
        job(
            "job-12",
            "drone-parts",
            "DP-77",
            JobState.PRINTING,
            "ASA",
            "black",
            8,
            PartCounts(printing=8),
            30,
            site="leipzig",
        ),
        job(
            "job-9",
            "keychains",
            "kc-20932",
            JobState.PRINTING,
            "PLA",
            "black",
            1,
            PartCounts(printing=1),
            6,
        ),
        job(
            "job-10",
            "lampworks",
            "L-5",
            JobState.PLANNED,
            "PLA",
            "red",
            1,
            PartCounts(queued=1),
            26,
        ),
        job(
            "job-14",
            "lampworks",
            "L-6",
            JobState.ACCEPTED,
            "PETG",
            "#ff8800",
            12,
            PartCounts(queued=11, failed=1),
            None,
            site=None,
            priority=Priority.LOW,
        ),
    )
    return QueueSummary(
        jobs_by_state={JobState.PRINTING: 4, JobState.PLANNED: 1, JobState.ACCEPTED: 1},
        parts_by_material={"PLA": 2, "PETG": 11},
        jobs_by_shop={"keychains": 2},
        late=1,
        at_risk=1,
        jobs=jobs,
        updated_at=NOW,
    )


def sites() -> list[SiteSummary]:
    return [
        SiteSummary(
            site_id="berlin",
            name="Fab Lab Berlin",
            timezone="Europe/Berlin",
            printers=6,
            printing=2,
            idle=1,
            waiting_for_staff=1,
            error=1,
            parts_queued=14,
            parts_moved_in=3,
            materials_needed_next=(
                MaterialNeed(
                    material="PETG",
                    colour="#ff8800",
                    printer_id="mk4-04",
                    needed_at=NOW + timedelta(minutes=40),
                ),
            ),
            updated_at=NOW,
        ),
        SiteSummary(
            site_id="leipzig",
            name="Makerspace Leipzig",
            timezone="Europe/Berlin",
            printers=4,
            printing=1,
            waiting_for_staff=1,
            offline=1,
            maintenance=1,
            parts_queued=8,
            parts_moved_out=3,
            updated_at=NOW,
        ),
    ]


def alerts() -> AlertList:
    return AlertList(
        alerts=(
            Alert(
                alert_id="printer-mk4-05",
                severity=Severity.CRITICAL,
                message="printer mk4-05 reports an error: thermal runaway on the hotend",
                site_id="berlin",
                printer_id="mk4-05",
                raised_at=NOW - timedelta(minutes=12),
            ),
            Alert(
                alert_id="printer-voron-2",
                severity=Severity.WARNING,
                message="printer voron-2 needs an operator: filament runout",
                site_id="leipzig",
                printer_id="voron-2",
                raised_at=NOW - timedelta(minutes=3),
            ),
            Alert(
                alert_id="job-8-late",
                severity=Severity.WARNING,
                message="job job-8 (gearshop order-1184) is 2 h past its due time",
                site_id="berlin",
                job_id="job-8",
                raised_at=NOW - timedelta(hours=2),
            ),
        ),
        updated_at=NOW,
    )


def events() -> list[PrinterEvent]:
    kinds = (
        (EventKind.PLATE_STARTED, None, 50),
        (EventKind.PART_CANCELLED, ("part-3",), 30),
        (EventKind.PAUSED, None, 20),
        (EventKind.RESUMED, None, 18),
    )
    return [
        PrinterEvent(
            event_id=f"ev-{i}",
            kind=kind,
            plate_id="plate-101",
            part_ids=parts or (),
            at=NOW - timedelta(minutes=minutes),
            details="spaghetti detected by staff" if parts else "",
        )
        for i, (kind, parts, minutes) in enumerate(kinds)
    ]


def farm_store() -> FleetStore:
    """A store filled as the MQTT worker would fill it, with the fixed farm."""
    store = FleetStore()
    for row in PRINTERS:
        store.apply_printer_summary(printer_summary(*row))
        site, printer, _name, state, material, colour, plate, progress, left, _q = row
        nozzle, nozzle_t, bed, bed_t = TEMPS.get(state, (24.0, 0.0, 23.0, 0.0))
        if state is S.OFFLINE:
            continue
        for sequence in range(40):
            wobble = ((sequence * 7) % 5) - 2.0
            warm = min(1.0, sequence / 15)
            store.apply_printer_state(
                site,
                printer,
                agent_state(
                    state,
                    sequence,
                    24 + (nozzle - 24) * warm + (wobble if nozzle_t else 0),
                    23 + (bed - 23) * warm,
                    (nozzle_t, bed_t),
                    plate,
                    progress,
                    left,
                    material,
                    colour,
                    at=NOW,
                    error="thermal runaway on the hotend" if state is S.ERROR else "",
                ),
            )
    topic = ParsedTopic(TopicKind.PRINTER_EVENTS, site="berlin", printer="mk4-01")
    for event in events():
        store.apply(topic, event)
    store.apply_queue(queue())
    for plate_list in plates():
        store.apply_plates(plate_list)
    for summary in sites():
        store.apply_site(summary)
    store.apply_alerts(alerts())
    return store
