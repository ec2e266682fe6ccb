"""Which messages each topic carries, so a receiver can decode whatever arrives on it.

`decode_for_topic(kind, payload)` picks the accepted models from
`MESSAGES_BY_TOPIC_KIND` and decodes by the payload's `type`. Mesh and G-code topics
carry binary blobs, not messages (see `protocol.blobs`). Each topic's models are
imported when a payload of that topic is first decoded (or when the table itself is
read), so a receiver pays only for the messages it receives.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from protocol.base import Message
from protocol.codec import decode_any
from protocol.errors import ProtocolError, RejectionCode
from protocol.topics import TopicKind

BLOB_TOPIC_KINDS = frozenset({TopicKind.MESH, TopicKind.PRINTER_GCODE})

# topic kind -> (module of protocol.messages, its model or tuple of models), in the order
# of MESSAGES_BY_TOPIC_KIND.
_CARRIED: dict[TopicKind, tuple[str, str]] = {
    TopicKind.JOB_SUBMIT: ("jobs", "JobSubmit"),
    TopicKind.JOB_CANCEL: ("jobs", "JobCancel"),
    TopicKind.JOB_STATUS: ("jobs", "JobStatus"),
    TopicKind.SHOP_ERRORS: ("jobs", "Rejection"),
    TopicKind.PRINTER_STATE: ("printer", "PrinterState"),
    TopicKind.PRINTER_TELEMETRY: ("printer", "Telemetry"),
    TopicKind.PRINTER_EVENTS: ("printer", "PrinterEvent"),
    TopicKind.PRINTER_CMD: ("commands", "PRINTER_COMMANDS"),
    TopicKind.STAFF_CMD: ("staff", "STAFF_COMMANDS"),
    TopicKind.STAFF_REPLIES: ("staff", "StaffReply"),
    TopicKind.FLEET_PRINTER: ("fleet", "FleetPrinterSummary"),
    TopicKind.FLEET_QUEUE: ("fleet", "QueueSummary"),
    TopicKind.FLEET_PLATES: ("fleet", "PlateList"),
    TopicKind.FLEET_SITE: ("fleet", "SiteSummary"),
    TopicKind.FLEET_ALERTS: ("fleet", "AlertList"),
}

if TYPE_CHECKING:
    MESSAGES_BY_TOPIC_KIND: dict[TopicKind, tuple[type[Message], ...]]


def messages_for(kind: TopicKind) -> tuple[type[Message], ...] | None:
    """The models a topic of `kind` carries (None for blob topics)."""
    carried = _CARRIED.get(kind)
    if carried is None:
        return None
    module, name = carried
    found = getattr(importlib.import_module(f"protocol.messages.{module}"), name)
    return found if isinstance(found, tuple) else (found,)


def _table() -> dict[TopicKind, tuple[type[Message], ...]]:
    table = globals().get("MESSAGES_BY_TOPIC_KIND")
    if table is None:
        table = {kind: messages_for(kind) for kind in _CARRIED}
        globals()["MESSAGES_BY_TOPIC_KIND"] = table
    return table


def __getattr__(name: str) -> Any:
    if name == "MESSAGES_BY_TOPIC_KIND":
        return _table()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def decode_for_topic(kind: TopicKind, payload: bytes) -> Message:
    """Decode a payload received on a topic of `kind` into whichever message it is."""
    accepted = messages_for(kind)
    if accepted is None:
        raise ProtocolError(
            f"{kind} topics carry binary payloads, not JSON messages", RejectionCode.WRONG_TYPE
        )
    return decode_any(payload, accepted)


def topic_kinds_of(model: type[Message]) -> tuple[TopicKind, ...]:
    """The topic kinds a message travels on (for the schema index and the README)."""
    return tuple(kind for kind, models in _table().items() if model in models)
