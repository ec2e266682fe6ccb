"""One valid example of every message type, filled in the way the farm would send it.

Round-trip, fuzz and broker tests start from these; `test_every_message_type_has_a_sample`
keeps the list complete when a message is added.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from protocol import (
    Alert,
    AlertList,
    BedCleared,
    CancelPart,
    CancelPlate,
    Cooldown,
    EventKind,
    FleetPrinterSummary,
    Heater,
    JobCancel,
    JobState,
    JobStatus,
    JobSubmit,
    MaterialNeed,
    MeshFormat,
    Message,
    PartCounts,
    PartState,
    Pause,
    PlacedPart,
    PlateList,
    PlatePart,
    PlateState,
    PlateSummary,
    Position,
    Preheat,
    PrinterEvent,
    PrinterState,
    PrinterStatus,
    Priority,
    Quality,
    QueuedJob,
    QueueSummary,
    Rejection,
    RejectionCode,
    Resume,
    RunPlate,
    SetMaintenance,
    Severity,
    ShipTo,
    SiteSummary,
    StaffBedCleared,
    StaffCancelJob,
    StaffCancelPart,
    StaffCancelPlate,
    StaffMaintenanceOff,
    StaffMaintenanceOn,
    StaffPartFailed,
    StaffPartPassed,
    StaffPause,
    StaffPlateFailed,
    StaffPlatePassed,
    StaffReply,
    StaffRequeue,
    StaffResume,
    StaffSpoolLoaded,
    Telemetry,
    ToolTemperature,
)

AT = datetime(2026, 11, 23, 14, 30, 5, 250_000, tzinfo=UTC)
LATER = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
MESH = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
GCODE = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
STAFF: dict[str, Any] = {"command_id": "c-7f3a", "staff_user": "ana", "issued_at": AT}
CMD: dict[str, Any] = {"command_id": "cmd-0042", "issued_at": AT}
COUNTS = PartCounts(queued=2, printing=1, printed=4, failed=1)
SQUARE = ((-10.0, -10.0), (10.0, -10.0), (10.0, 10.0), (-10.0, 10.0))


def _jobs() -> list[Message]:
    return [
        JobSubmit(
            client_ref="order-1042/3",
            mesh_sha256=MESH,
            mesh_format=MeshFormat.THREE_MF,
            material="PETG",
            colour="signal white",
            quantity=8,
            ship_to=ShipTo(lat=52.52, lon=13.405),
            due=LATER,
            priority=Priority.HIGH,
            quality=Quality.FINE,
            scale=1.5,
            notes="gift\nwrap separately",
        ),
        JobCancel(reason="customer changed the order"),
        JobStatus(
            job_id="j-000123",
            client_ref="order-1042/3",
            state=JobState.PRINTING,
            parts=COUNTS,
            updated_at=AT,
            estimated_completion=LATER,
        ),
        Rejection(
            topic="makerfarm/v1/shops/acme/jobs/submit",
            code=RejectionCode.MESH_MISSING,
            reason="no mesh 9f86… was uploaded; publish it to meshes/9f86… first",
            client_ref="order-1042/3",
            at=AT,
        ),
    ]


def _printer() -> list[Message]:
    return [
        PrinterState(
            state=PrinterStatus.PRINTING,
            profile_id="prusa-mk4.0.6",
            material="PLA",
            colour="black",
            plate_id="pl-88",
            progress=0.42,
            seconds_left=3600.5,
            nozzle=Heater(current_c=214.8, target_c=215.0),
            bed=Heater(current_c=60.1, target_c=60),
            agent_version="0.1.0",
            at=AT,
            run_id="3b1c9e0a-52d4-4c51-9a53-0c1f0f8e7d11",
            connection=2,
            sequence=917,
        ),
        Telemetry(
            temperatures=(
                ToolTemperature(name="T0", current_c=214.8, target_c=215.0),
                ToolTemperature(name="bed", current_c=60.1, target_c=60.0),
            ),
            position=Position(x_mm=101.25, y_mm=88.0, z_mm=4.2, e_mm=1523.4),
            fan_percent=100.0,
            speed_percent=100.0,
            flow_percent=95.0,
            layer=21,
            at=AT,
        ),
        PrinterEvent(
            event_id="ev-5d0c6a7e",
            kind=EventKind.PART_CANCELLED,
            plate_id="pl-88",
            command_id="cmd-0042",
            part_ids=("p-1", "p-2"),
            details="spaghetti on p-1",
            at=AT,
        ),
    ]


def _commands() -> list[Message]:
    return [
        RunPlate(
            **CMD,
            plate_id="pl-88",
            profile_id="prusa-mk4.0.6",
            gcode_sha256=GCODE,
            gcode_gzip_bytes=812_345,
            gcode_bytes=4_500_000,
            parts=(
                PlatePart(part_id="p-1", label="order-1042_3 #1"),
                PlatePart(part_id="p-2", label="order-1042_3 #2"),
            ),
            material="PLA",
            colour="black",
            estimated_seconds=7260.0,
        ),
        Pause(**CMD),
        Resume(**CMD),
        CancelPlate(**CMD, plate_id="pl-88", reason="bed adhesion lost"),
        CancelPart(**CMD, plate_id="pl-88", part_id="p-2"),
        Preheat(**CMD, material="PETG"),
        Cooldown(**CMD),
        SetMaintenance(**CMD, on=True, reason="nozzle swap"),
        BedCleared(**CMD, plate_id="pl-87", staff_user="ana"),
    ]


def _staff() -> list[Message]:
    return [
        StaffBedCleared(**STAFF, printer_id="mk4-03"),
        StaffSpoolLoaded(
            **STAFF, printer_id="mk4-03", material="PLA", colour="#ff8800", grams=1000
        ),
        StaffPartFailed(**STAFF, plate_id="pl-88", part_ids=("p-1",), reason="warped corner"),
        StaffPartPassed(**STAFF, plate_id="pl-88", part_ids=("p-2", "p-3")),
        StaffPlateFailed(**STAFF, plate_id="pl-88", reason="layer shift"),
        StaffPlatePassed(**STAFF, plate_id="pl-88"),
        StaffRequeue(**STAFF, part_ids=("p-1", "p-4")),
        StaffCancelJob(**STAFF, job_id="j-000123", reason="shop asked by phone"),
        StaffCancelPlate(**STAFF, plate_id="pl-88"),
        StaffCancelPart(**STAFF, plate_id="pl-88", part_id="p-2"),
        StaffPause(**STAFF, printer_id="mk4-03"),
        StaffResume(**STAFF, printer_id="mk4-03"),
        StaffMaintenanceOn(**STAFF, printer_id="mk4-03", reason="belt tension"),
        StaffMaintenanceOff(**STAFF, printer_id="mk4-03"),
        StaffReply(
            command_id="c-7f3a",
            action="staff.bed_cleared",
            staff_user="ana",
            accepted=False,
            reason="mk4-03 is still printing plate pl-88",
            at=AT,
        ),
    ]


def _fleet() -> list[Message]:
    part = PlacedPart(
        part_id="p-1",
        job_id="j-000123",
        x_mm=40.0,
        y_mm=35.5,
        rotation_deg=90.0,
        footprint=SQUARE,
        state=PartState.PRINTING,
    )
    return [
        FleetPrinterSummary(
            site_id="berlin-x",
            printer_id="mk4-03",
            name="MK4 #3 (window)",
            profile_id="prusa-mk4.0.6",
            state=PrinterStatus.AWAITING_BED_CLEAR,
            material="PLA",
            colour="black",
            plate_id="pl-88",
            queued_plates=2,
            last_seen_at=AT,
            updated_at=AT,
        ),
        QueueSummary(
            jobs_by_state={JobState.ACCEPTED: 3, JobState.PRINTING: 5},
            parts_by_material={"PLA": 40, "PETG": 8},
            jobs_by_shop={"acme": 6, "bits-and-bobs": 2},
            late=1,
            at_risk=2,
            jobs=(
                QueuedJob(
                    job_id="j-000123",
                    shop_id="acme",
                    client_ref="order-1042/3",
                    state=JobState.PRINTING,
                    material="PETG",
                    colour="signal white",
                    quantity=8,
                    parts=COUNTS,
                    priority=Priority.HIGH,
                    due=LATER,
                    estimated_completion=LATER,
                    site_id="berlin-x",
                    at_risk=True,
                ),
            ),
            updated_at=AT,
        ),
        PlateList(
            site_id="berlin-x",
            plates=(
                PlateSummary(
                    plate_id="pl-88",
                    site_id="berlin-x",
                    printer_id="mk4-03",
                    material="PLA",
                    colour="black",
                    state=PlateState.PRINTING,
                    bed_width_mm=250.0,
                    bed_depth_mm=210.0,
                    parts=(part,),
                    starts_at=AT,
                    ends_at=LATER,
                ),
            ),
            updated_at=AT,
        ),
        SiteSummary(
            site_id="berlin-x",
            name="Berlin X-Hain",
            timezone="Europe/Berlin",
            printers=12,
            printing=7,
            idle=2,
            waiting_for_staff=2,
            offline=1,
            parts_queued=57,
            parts_moved_in=4,
            parts_moved_out=9,
            materials_needed_next=(
                MaterialNeed(
                    material="PETG", colour="signal white", printer_id="mk4-03", needed_at=LATER
                ),
            ),
            updated_at=AT,
        ),
        AlertList(
            alerts=(
                Alert(
                    alert_id="a-17",
                    severity=Severity.WARNING,
                    site_id="berlin-x",
                    printer_id="mk4-03",
                    message="mk4-03 has waited 45 minutes for its bed to be cleared",
                    raised_at=AT,
                ),
            ),
            updated_at=AT,
        ),
    ]


def all_samples() -> list[Message]:
    return [*_jobs(), *_printer(), *_commands(), *_staff(), *_fleet()]


SAMPLES: dict[str, Message] = {sample.type: sample for sample in all_samples()}
