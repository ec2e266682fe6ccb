"""Which messages each topic carries, so a receiver can decode whatever arrives on it.

`decode_for_topic(kind, payload)` picks the accepted models from
`MESSAGES_BY_TOPIC_KIND` and decodes by the payload's `type`. Mesh and G-code topics
carry binary blobs, not messages (see `protocol.blobs`).
"""

from __future__ import annotations

from protocol.base import Message
from protocol.codec import decode_any
from protocol.errors import ProtocolError, RejectionCode
from protocol.messages.commands import PRINTER_COMMANDS
from protocol.messages.fleet import (
    AlertList,
    FleetPrinterSummary,
    PlateList,
    QueueSummary,
    SiteSummary,
)
from protocol.messages.jobs import JobCancel, JobStatus, JobSubmit, Rejection
from protocol.messages.printer import PrinterEvent, PrinterState, Telemetry
from protocol.messages.staff import STAFF_COMMANDS, StaffReply
from protocol.topics import TopicKind

BLOB_TOPIC_KINDS = frozenset({TopicKind.MESH, TopicKind.PRINTER_GCODE})

MESSAGES_BY_TOPIC_KIND: dict[TopicKind, tuple[type[Message], ...]] = {
    TopicKind.JOB_SUBMIT: (JobSubmit,),
    TopicKind.JOB_CANCEL: (JobCancel,),
    TopicKind.JOB_STATUS: (JobStatus,),
    TopicKind.SHOP_ERRORS: (Rejection,),
    TopicKind.PRINTER_STATE: (PrinterState,),
    TopicKind.PRINTER_TELEMETRY: (Telemetry,),
    TopicKind.PRINTER_EVENTS: (PrinterEvent,),
    TopicKind.PRINTER_CMD: PRINTER_COMMANDS,
    TopicKind.STAFF_CMD: STAFF_COMMANDS,
    TopicKind.STAFF_REPLIES: (StaffReply,),
    TopicKind.FLEET_PRINTER: (FleetPrinterSummary,),
    TopicKind.FLEET_QUEUE: (QueueSummary,),
    TopicKind.FLEET_PLATES: (PlateList,),
    TopicKind.FLEET_SITE: (SiteSummary,),
    TopicKind.FLEET_ALERTS: (AlertList,),
}


def decode_for_topic(kind: TopicKind, payload: bytes) -> Message:
    """Decode a payload received on a topic of `kind` into whichever message it is."""
    accepted = MESSAGES_BY_TOPIC_KIND.get(kind)
    if accepted is None:
        raise ProtocolError(
            f"{kind} topics carry binary payloads, not JSON messages", RejectionCode.WRONG_TYPE
        )
    return decode_any(payload, accepted)


def topic_kinds_of(model: type[Message]) -> tuple[TopicKind, ...]:
    """The topic kinds a message travels on (for the schema index and the README)."""
    return tuple(kind for kind, models in MESSAGES_BY_TOPIC_KIND.items() if model in models)
