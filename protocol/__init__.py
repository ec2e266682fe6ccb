"""makerfarm's wire contract: MQTT topic names and message models (pydantic only).

Build topics with the functions in `protocol.topics`, classify inbound ones with
`parse_topic`, send messages with `encode` and read untrusted payloads with `decode`,
`decode_any` or `decode_for_topic`; each raises only `ProtocolError` / `TopicError`.

The message models of jobs, staff and fleet (and `MESSAGE_TYPES`, which lists every
model) are imported on first use: an agent on a Pi, which sends and receives printer
messages and commands only, never pays for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from protocol.base import SCHEMA_VERSION, Message, message_type
from protocol.blobs import (
    MAX_GCODE_BYTES,
    MAX_GCODE_GZIP_BYTES,
    MAX_MESH_BYTES,
    check_blob,
    compress_gcode,
    decompress_gcode,
    sha256_hex,
)
from protocol.codec import decode, decode_any, encode
from protocol.errors import ProtocolError, RejectionCode, TopicError
from protocol.inbound import decode_for_topic
from protocol.messages.commands import (
    BedCleared,
    CancelPart,
    CancelPlate,
    Cooldown,
    Pause,
    PlatePart,
    Preheat,
    PrinterCommand,
    Resume,
    RunPlate,
    SetMaintenance,
)
from protocol.messages.printer import (
    EventKind,
    Heater,
    Position,
    PrinterEvent,
    PrinterState,
    PrinterStatus,
    Telemetry,
    ToolTemperature,
    offline_will,
)
from protocol.states import FINAL_JOB_STATES, FINAL_PLATE_STATES, JobState, PartState, PlateState
from protocol.topics import TOPICS, ParsedTopic, TopicKind, parse_topic, topic_filter

if TYPE_CHECKING:
    from protocol.base import MESSAGE_TYPES
    from protocol.inbound import MESSAGES_BY_TOPIC_KIND
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
    from protocol.messages.jobs import (
        JobCancel,
        JobStatus,
        JobSubmit,
        MeshFormat,
        PartCounts,
        Priority,
        Quality,
        Rejection,
        ShipTo,
    )
    from protocol.messages.staff import (
        StaffBedCleared,
        StaffCancelJob,
        StaffCancelPart,
        StaffCancelPlate,
        StaffCommand,
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
    )

# Names imported on first use: name -> the module that defines it.
_LAZY = {
    **dict.fromkeys(
        (
            "Alert",
            "AlertList",
            "FleetPrinterSummary",
            "MaterialNeed",
            "PlacedPart",
            "PlateList",
            "PlateSummary",
            "QueuedJob",
            "QueueSummary",
            "Severity",
            "SiteSummary",
        ),
        "protocol.messages.fleet",
    ),
    **dict.fromkeys(
        (
            "JobCancel",
            "JobStatus",
            "JobSubmit",
            "MeshFormat",
            "PartCounts",
            "Priority",
            "Quality",
            "Rejection",
            "ShipTo",
        ),
        "protocol.messages.jobs",
    ),
    **dict.fromkeys(
        (
            "StaffBedCleared",
            "StaffCancelJob",
            "StaffCancelPart",
            "StaffCancelPlate",
            "StaffCommand",
            "StaffMaintenanceOff",
            "StaffMaintenanceOn",
            "StaffPartFailed",
            "StaffPartPassed",
            "StaffPause",
            "StaffPlateFailed",
            "StaffPlatePassed",
            "StaffReply",
            "StaffRequeue",
            "StaffResume",
            "StaffSpoolLoaded",
        ),
        "protocol.messages.staff",
    ),
    "MESSAGES_BY_TOPIC_KIND": "protocol.inbound",
}


def __getattr__(name: str) -> Any:
    if name == "MESSAGE_TYPES":  # complete: every message module registered first
        from protocol import messages

        messages.load_all()
        value: Any = importlib.import_module("protocol.base").MESSAGE_TYPES
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


__all__ = [
    "FINAL_JOB_STATES",
    "FINAL_PLATE_STATES",
    "MAX_GCODE_BYTES",
    "MAX_GCODE_GZIP_BYTES",
    "MAX_MESH_BYTES",
    "MESSAGES_BY_TOPIC_KIND",
    "MESSAGE_TYPES",
    "SCHEMA_VERSION",
    "TOPICS",
    "Alert",
    "AlertList",
    "BedCleared",
    "CancelPart",
    "CancelPlate",
    "Cooldown",
    "EventKind",
    "FleetPrinterSummary",
    "Heater",
    "JobCancel",
    "JobState",
    "JobStatus",
    "JobSubmit",
    "MaterialNeed",
    "MeshFormat",
    "Message",
    "ParsedTopic",
    "PartCounts",
    "PartState",
    "Pause",
    "PlacedPart",
    "PlateList",
    "PlatePart",
    "PlateState",
    "PlateSummary",
    "Position",
    "Preheat",
    "PrinterCommand",
    "PrinterEvent",
    "PrinterState",
    "PrinterStatus",
    "Priority",
    "ProtocolError",
    "Quality",
    "QueueSummary",
    "QueuedJob",
    "Rejection",
    "RejectionCode",
    "Resume",
    "RunPlate",
    "SetMaintenance",
    "Severity",
    "ShipTo",
    "SiteSummary",
    "StaffBedCleared",
    "StaffCancelJob",
    "StaffCancelPart",
    "StaffCancelPlate",
    "StaffCommand",
    "StaffMaintenanceOff",
    "StaffMaintenanceOn",
    "StaffPartFailed",
    "StaffPartPassed",
    "StaffPause",
    "StaffPlateFailed",
    "StaffPlatePassed",
    "StaffReply",
    "StaffRequeue",
    "StaffResume",
    "StaffSpoolLoaded",
    "Telemetry",
    "ToolTemperature",
    "TopicError",
    "TopicKind",
    "check_blob",
    "compress_gcode",
    "decode",
    "decode_any",
    "decode_for_topic",
    "decompress_gcode",
    "encode",
    "message_type",
    "offline_will",
    "parse_topic",
    "sha256_hex",
    "topic_filter",
]
