"""Every MQTT topic of makerfarm v1: the topic map, builders, filters and the parser.

Topic strings are built only here. Each kind of topic is declared once in `TOPICS` (its
shape, who sends it to whom, QoS and retain flag); the builders, the subscription
filters and `parse_topic` all read that table.

Ids in topics follow the id grammar `^[a-z0-9][a-z0-9_-]{0,63}$` (shop, site, printer,
job); blob topics end in the lowercase hex sha256 of the payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from protocol.errors import TopicError, truncate
from protocol.fields import ID_RE, SHA256_RE

ROOT = "makerfarm/v1"
MAX_TOPIC_CHARS = 256
_ID_NAMES = ("shop", "site", "printer", "job")


class TopicKind(StrEnum):
    MESH = "mesh"
    JOB_SUBMIT = "job_submit"
    JOB_CANCEL = "job_cancel"
    JOB_STATUS = "job_status"
    SHOP_ERRORS = "shop_errors"
    PRINTER_STATE = "printer_state"
    PRINTER_TELEMETRY = "printer_telemetry"
    PRINTER_EVENTS = "printer_events"
    PRINTER_CMD = "printer_cmd"
    PRINTER_GCODE = "printer_gcode"
    STAFF_CMD = "staff_cmd"
    STAFF_REPLIES = "staff_replies"
    FLEET_PRINTER = "fleet_printer"
    FLEET_QUEUE = "fleet_queue"
    FLEET_PLATES = "fleet_plates"
    FLEET_SITE = "fleet_site"
    FLEET_ALERTS = "fleet_alerts"


@dataclass(frozen=True)
class TopicSpec:
    """One row of the topic map. `pattern` is relative to ROOT; `{name}` marks an id."""

    kind: TopicKind
    pattern: str
    sender: str
    receiver: str
    payload: str
    qos: int
    retained: bool

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.pattern.split("/"))


def _spec(
    kind: TopicKind, pattern: str, route: str, payload: str, qos: int, retained: bool = False
) -> TopicSpec:
    sender, receiver = (part.strip() for part in route.split("->"))
    return TopicSpec(kind, pattern, sender, receiver, payload, qos, retained)


K = TopicKind
TOPICS: dict[TopicKind, TopicSpec] = {
    spec.kind: spec
    for spec in (
        _spec(K.MESH, "shops/{shop}/meshes/{sha256}", "shop -> controller", "mesh bytes", 1),
        _spec(K.JOB_SUBMIT, "shops/{shop}/jobs/submit", "shop -> controller", "JobSubmit", 1),
        _spec(K.JOB_CANCEL, "shops/{shop}/jobs/{job}/cancel", "shop -> controller", "JobCancel", 1),
        _spec(
            K.JOB_STATUS,
            "shops/{shop}/jobs/{job}/status",
            "controller -> shop",
            "JobStatus",
            1,
            retained=True,
        ),
        _spec(K.SHOP_ERRORS, "shops/{shop}/errors", "controller -> shop", "Rejection", 1),
        _spec(
            K.PRINTER_STATE,
            "sites/{site}/printers/{printer}/state",
            "agent -> all",
            "PrinterState (Last Will: offline)",
            1,
            retained=True,
        ),
        _spec(
            K.PRINTER_TELEMETRY,
            "sites/{site}/printers/{printer}/telemetry",
            "agent -> all",
            "Telemetry",
            0,
        ),
        _spec(
            K.PRINTER_EVENTS,
            "sites/{site}/printers/{printer}/events",
            "agent -> controller",
            "PrinterEvent",
            1,
        ),
        _spec(
            K.PRINTER_CMD,
            "sites/{site}/printers/{printer}/cmd",
            "controller -> agent",
            "PrinterCommand",
            1,
        ),
        _spec(
            K.PRINTER_GCODE,
            "sites/{site}/printers/{printer}/gcode/{sha256}",
            "controller -> agent",
            "gzip'd G-code bytes",
            1,
        ),
        _spec(
            K.STAFF_CMD, "sites/{site}/staff/cmd", "staff (TUI) -> controller", "StaffCommand", 1
        ),
        _spec(
            K.STAFF_REPLIES,
            "sites/{site}/staff/replies",
            "controller -> staff (TUI)",
            "StaffReply",
            1,
        ),
        _spec(
            K.FLEET_PRINTER,
            "fleet/printers/{site}/{printer}",
            "controller -> TUI",
            "FleetPrinterSummary",
            1,
            retained=True,
        ),
        _spec(K.FLEET_QUEUE, "fleet/queue", "controller -> TUI", "QueueSummary", 1, retained=True),
        _spec(
            K.FLEET_PLATES,
            "fleet/plates/{site}",
            "controller -> TUI",
            "PlateList",
            1,
            retained=True,
        ),
        _spec(
            K.FLEET_SITE, "fleet/sites/{site}", "controller -> TUI", "SiteSummary", 1, retained=True
        ),
        _spec(K.FLEET_ALERTS, "fleet/alerts", "controller -> TUI", "AlertList", 1, retained=True),
    )
}
del K


@dataclass(frozen=True)
class ParsedTopic:
    """The ids a concrete topic names; fields the topic's kind does not have are None."""

    kind: TopicKind
    shop: str | None = None
    site: str | None = None
    printer: str | None = None
    job: str | None = None
    sha256: str | None = None

    @property
    def spec(self) -> TopicSpec:
        return TOPICS[self.kind]


def _check_id(name: str, value: str) -> str:
    if name == "sha256":
        if not isinstance(value, str) or not SHA256_RE.fullmatch(value):
            raise TopicError(
                f"sha256 {truncate(repr(value), 80)} is not valid: expected 64 lowercase hex digits"
            )
        return value
    if not isinstance(value, str) or not ID_RE.fullmatch(value):
        raise TopicError(
            f"{name} id {truncate(repr(value), 80)} is not valid: ids are 1-64 characters "
            "of a-z, 0-9, '_' and '-', starting with a letter or digit"
        )
    return value


def _fill(kind: TopicKind, ids: dict[str, str | None], wildcard: bool) -> str:
    parts: list[str] = []
    for segment in TOPICS[kind].segments:
        if not segment.startswith("{"):
            parts.append(segment)
            continue
        name = segment[1:-1]
        value = ids.get(name)
        if value is None:
            if not wildcard:
                raise TopicError(f"{kind} topic needs a {name}")
            parts.append("+")
        else:
            parts.append(_check_id(name, value))
    return ROOT + "/" + "/".join(parts)


def topic_filter(
    kind: TopicKind,
    *,
    shop: str | None = None,
    site: str | None = None,
    printer: str | None = None,
    job: str | None = None,
    sha256: str | None = None,
) -> str:
    """A subscription filter for `kind`: every id not given becomes the `+` wildcard.

    `topic_filter(TopicKind.JOB_SUBMIT)` is `makerfarm/v1/shops/+/jobs/submit`.
    """
    ids = {"shop": shop, "site": site, "printer": printer, "job": job, "sha256": sha256}
    return _fill(kind, ids, wildcard=True)


def fleet_filter() -> str:
    """Every fleet summary, for the TUI: `makerfarm/v1/fleet/#`."""
    return f"{ROOT}/fleet/#"


def root_filter() -> str:
    """Every makerfarm v1 topic: `makerfarm/v1/#` (the controller's reach, in broker ACLs)."""
    return f"{ROOT}/#"


def site_filter(site: str) -> str:
    """Every topic of one site: `makerfarm/v1/sites/{site}/#` (a site broker's bridge)."""
    return f"{ROOT}/sites/{_check_id('site', site)}/#"


def shared_filter(group: str, topic_filter: str) -> str:
    """An MQTT v5 shared subscription of `topic_filter` for the group `group`:
    `$share/{group}/{filter}`; the broker gives each message to one member."""
    return f"$share/{group}/{topic_filter}"


# Builders of concrete topics: one per row of the topic map.


def mesh_topic(shop: str, sha256: str) -> str:
    return _fill(TopicKind.MESH, {"shop": shop, "sha256": sha256}, wildcard=False)


def job_submit_topic(shop: str) -> str:
    return _fill(TopicKind.JOB_SUBMIT, {"shop": shop}, wildcard=False)


def job_cancel_topic(shop: str, job: str) -> str:
    return _fill(TopicKind.JOB_CANCEL, {"shop": shop, "job": job}, wildcard=False)


def job_status_topic(shop: str, job: str) -> str:
    return _fill(TopicKind.JOB_STATUS, {"shop": shop, "job": job}, wildcard=False)


def shop_errors_topic(shop: str) -> str:
    return _fill(TopicKind.SHOP_ERRORS, {"shop": shop}, wildcard=False)


def printer_state_topic(site: str, printer: str) -> str:
    return _fill(TopicKind.PRINTER_STATE, {"site": site, "printer": printer}, wildcard=False)


def printer_telemetry_topic(site: str, printer: str) -> str:
    return _fill(TopicKind.PRINTER_TELEMETRY, {"site": site, "printer": printer}, wildcard=False)


def printer_events_topic(site: str, printer: str) -> str:
    return _fill(TopicKind.PRINTER_EVENTS, {"site": site, "printer": printer}, wildcard=False)


def printer_cmd_topic(site: str, printer: str) -> str:
    return _fill(TopicKind.PRINTER_CMD, {"site": site, "printer": printer}, wildcard=False)


def printer_gcode_topic(site: str, printer: str, sha256: str) -> str:
    return _fill(
        TopicKind.PRINTER_GCODE,
        {"site": site, "printer": printer, "sha256": sha256},
        wildcard=False,
    )


def staff_cmd_topic(site: str) -> str:
    return _fill(TopicKind.STAFF_CMD, {"site": site}, wildcard=False)


def staff_replies_topic(site: str) -> str:
    return _fill(TopicKind.STAFF_REPLIES, {"site": site}, wildcard=False)


def fleet_printer_topic(site: str, printer: str) -> str:
    return _fill(TopicKind.FLEET_PRINTER, {"site": site, "printer": printer}, wildcard=False)


def fleet_queue_topic() -> str:
    return _fill(TopicKind.FLEET_QUEUE, {}, wildcard=False)


def fleet_plates_topic(site: str) -> str:
    return _fill(TopicKind.FLEET_PLATES, {"site": site}, wildcard=False)


def fleet_site_topic(site: str) -> str:
    return _fill(TopicKind.FLEET_SITE, {"site": site}, wildcard=False)


def fleet_alerts_topic() -> str:
    return _fill(TopicKind.FLEET_ALERTS, {}, wildcard=False)


# Parsing: a concrete inbound topic back into its kind and ids.

_SPECS_BY_LENGTH: dict[int, list[TopicSpec]] = {}
for _spec_row in TOPICS.values():
    _SPECS_BY_LENGTH.setdefault(len(_spec_row.segments), []).append(_spec_row)
del _spec_row


def _match(spec: TopicSpec, segments: list[str]) -> dict[str, str] | None:
    ids: dict[str, str] = {}
    for expected, actual in zip(spec.segments, segments, strict=True):
        if expected.startswith("{"):
            ids[expected[1:-1]] = actual
        elif expected != actual:
            return None
    return ids


def _check_shape(topic: object) -> list[str]:
    if not isinstance(topic, str):
        raise TopicError(f"a topic must be a string, not {type(topic).__name__}")
    shown = truncate(repr(topic), 120)
    if len(topic) > MAX_TOPIC_CHARS:
        raise TopicError(
            f"topic {shown} is {len(topic)} characters long; "
            f"makerfarm topics are at most {MAX_TOPIC_CHARS}"
        )
    for wildcard in ("+", "#"):
        if wildcard in topic:
            raise TopicError(
                f"topic {shown} contains the wildcard {wildcard!r}; "
                "messages are published to concrete topics only"
            )
    segments = topic.split("/")
    if segments[:1] != ["makerfarm"] or len(segments) < 3:
        raise TopicError(f"topic {shown} is not under {ROOT}/")
    if segments[1] != "v1":
        raise TopicError(
            f"topic {shown} is for protocol version {truncate(segments[1], 20)!r}; "
            "this side speaks v1"
        )
    return segments[2:]


def parse_topic(topic: str) -> ParsedTopic:
    """Classify a concrete topic and extract its ids; `TopicError` says why one is refused."""
    segments = _check_shape(topic)
    for spec in _SPECS_BY_LENGTH.get(len(segments), ()):
        ids = _match(spec, segments)
        if ids is None:
            continue
        for name, value in ids.items():
            _check_id(name, value)
        return ParsedTopic(spec.kind, **ids)
    raise TopicError(
        f"topic {truncate(repr(topic), 120)} is not in the makerfarm v1 topic "
        "map (see `makerfarm schema` and the README's topic table)"
    )
