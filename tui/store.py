"""The TUI's local picture of the farm: the newest summary of everything it has heard.

`FleetStore` keeps the latest fleet summaries (printers, queue, plates, sites, alerts), each
printer's agent state with a short temperature history, its recent events, and the staff
replies. It never talks to the network: the MQTT worker feeds it decoded messages with
`apply`, tests feed it directly. What changed since the screens last looked is collected in
`Changes` (`take_changes`), so a screen updates only the rows that moved instead of
redrawing 1,000 printers for every message.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from protocol.base import Message
from protocol.messages.fleet import (
    Alert,
    AlertList,
    FleetPrinterSummary,
    PlateList,
    PlateSummary,
    QueuedJob,
    QueueSummary,
    SiteSummary,
)
from protocol.messages.printer import EventKind, PrinterEvent, PrinterState, PrinterStatus
from protocol.messages.staff import StaffReply
from protocol.topics import ParsedTopic, TopicKind
from tui.alerts import open_alerts

TEMPERATURE_SAMPLES = 120
EVENTS_KEPT = 40
PrinterKey = tuple[str, str]  # (site, printer)


@dataclass
class PrinterView:
    """One printer as staff see it: the controller's summary merged with the agent's state.

    Fields both carry (state, material, plate, progress, error) follow whichever arrived
    last, so an agent's fresh state shows before the controller's next summary and a
    controller-side state (maintenance, offline after a Last Will) shows when it comes."""

    site_id: str
    printer_id: str
    name: str
    profile_id: str = ""
    state: PrinterStatus = PrinterStatus.CONNECTING
    material: str | None = None
    colour: str | None = None
    plate_id: str | None = None
    progress: float | None = None
    seconds_left: float | None = None
    error: str = ""
    queued_plates: int = 0
    nozzle_c: float | None = None
    nozzle_target_c: float | None = None
    bed_c: float | None = None
    bed_target_c: float | None = None
    as_of: datetime | None = None  # when the fields above were true (sender's clock)
    last_seen_at: datetime | None = None  # when the printer was last heard online
    agent_state: PrinterState | None = None
    nozzle_history: deque[float] = field(default_factory=lambda: deque(maxlen=TEMPERATURE_SAMPLES))
    bed_history: deque[float] = field(default_factory=lambda: deque(maxlen=TEMPERATURE_SAMPLES))
    events: deque[PrinterEvent] = field(default_factory=lambda: deque(maxlen=EVENTS_KEPT))
    received_monotonic: float = 0.0

    @property
    def key(self) -> PrinterKey:
        return (self.site_id, self.printer_id)

    @property
    def finishes_at(self) -> datetime | None:
        if self.seconds_left is None or self.as_of is None:
            return None
        return self.as_of + timedelta(seconds=self.seconds_left)


@dataclass
class Changes:
    """What changed since the last `take_changes`: screens refresh only these."""

    printers: set[PrinterKey] = field(default_factory=set)
    new_printers: bool = False
    queue: bool = False
    plates: set[str] = field(default_factory=set)
    sites: set[str] = field(default_factory=set)
    alerts: bool = False
    replies: list[StaffReply] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.printers
            or self.new_printers
            or self.queue
            or self.plates
            or self.sites
            or self.alerts
            or self.replies
        )


class FleetStore:
    """The newest word on every printer, job, plate, site and alert the TUI has heard."""

    def __init__(self) -> None:
        self.printers: dict[PrinterKey, PrinterView] = {}
        self._by_site: dict[str, dict[str, PrinterView]] = {}
        self.queue: QueueSummary | None = None
        self.plates: dict[str, PlateList] = {}
        self.sites: dict[str, SiteSummary] = {}
        self.alerts: tuple[Alert, ...] = ()
        self.replies: deque[StaffReply] = deque(maxlen=200)
        self.rejected_messages = 0
        self._changes = Changes()

    # Feeding the store.

    def apply(self, topic: ParsedTopic, message: Message) -> None:
        """Take in one decoded message that arrived on `topic`."""
        match message:
            case FleetPrinterSummary():
                self.apply_printer_summary(message)
            case PrinterState() if topic.site and topic.printer:
                self.apply_printer_state(topic.site, topic.printer, message)
            case PrinterEvent() if topic.site and topic.printer:
                self.apply_printer_event(topic.site, topic.printer, message)
            case QueueSummary():
                self.apply_queue(message)
            case PlateList():
                self.apply_plates(message)
            case SiteSummary():
                self.apply_site(message)
            case AlertList():
                self.apply_alerts(message)
            case StaffReply() if topic.kind is TopicKind.STAFF_REPLIES:
                self.apply_reply(message)

    def apply_printer_summary(self, summary: FleetPrinterSummary) -> None:
        view = self._view(summary.site_id, summary.printer_id, summary.name)
        view.name = summary.name
        view.profile_id = summary.profile_id
        view.queued_plates = summary.queued_plates
        view.state = summary.state
        view.material, view.colour = summary.material, summary.colour
        if summary.plate_id != view.plate_id or summary.progress is not None:
            view.progress = summary.progress
            view.seconds_left = summary.seconds_left
            view.as_of = summary.updated_at
        view.plate_id = summary.plate_id
        view.error = summary.error
        if summary.last_seen_at is not None:
            view.last_seen_at = summary.last_seen_at
        if view.as_of is None:
            view.as_of = summary.updated_at
        self._touched(view)

    def apply_printer_state(self, site: str, printer: str, state: PrinterState) -> None:
        view = self._view(site, printer, printer)
        if view.agent_state is not None and not state.supersedes(view.agent_state):
            return
        view.agent_state = state
        view.state = state.state
        if state.profile_id:
            view.profile_id = state.profile_id
        if state.material is not None:  # agents that do not know their spool say nothing
            view.material, view.colour = state.material, state.colour
        view.plate_id = state.plate_id
        view.progress, view.seconds_left = state.progress, state.seconds_left
        view.error = state.error
        view.as_of = state.at
        if state.state is not PrinterStatus.OFFLINE:
            view.last_seen_at = state.at
        if state.nozzle is not None:
            view.nozzle_c, view.nozzle_target_c = state.nozzle.current_c, state.nozzle.target_c
            view.nozzle_history.append(state.nozzle.current_c)
        if state.bed is not None:
            view.bed_c, view.bed_target_c = state.bed.current_c, state.bed.target_c
            view.bed_history.append(state.bed.current_c)
        self._touched(view)

    def apply_printer_event(self, site: str, printer: str, event: PrinterEvent) -> None:
        if event.kind is EventKind.PROGRESS:
            return  # progress shows in the row; the event list keeps what a person acts on
        view = self._view(site, printer, printer)
        if any(seen.event_id == event.event_id for seen in view.events):
            return  # a QoS 1 redelivery or a replay from the agent's queue
        view.events.append(event)
        self._touched(view)

    def apply_queue(self, queue: QueueSummary) -> None:
        self.queue = queue
        self._changes.queue = True

    def apply_plates(self, plates: PlateList) -> None:
        self.plates[plates.site_id] = plates
        self._changes.plates.add(plates.site_id)

    def apply_site(self, site: SiteSummary) -> None:
        self.sites[site.site_id] = site
        self._changes.sites.add(site.site_id)

    def apply_alerts(self, alerts: AlertList) -> None:
        self.alerts = alerts.alerts
        self._changes.alerts = True

    def apply_reply(self, reply: StaffReply) -> None:
        self.replies.append(reply)
        self._changes.replies.append(reply)

    def take_changes(self) -> Changes:
        changes, self._changes = self._changes, Changes()
        return changes

    # Reading the store.

    def printers_at(self, site: str | None) -> list[PrinterView]:
        if site is None:
            return list(self.printers.values())
        return list(self._by_site.get(site, {}).values())

    def find_printer(self, printer_id: str, site: str | None = None) -> PrinterView | None:
        if site is not None:
            return self.printers.get((site, printer_id))
        return next((v for v in self.printers.values() if v.printer_id == printer_id), None)

    def plate(self, plate_id: str | None) -> PlateSummary | None:
        if plate_id is None:
            return None
        for plate_list in self.plates.values():
            for plate in plate_list.plates:
                if plate.plate_id == plate_id:
                    return plate
        return None

    def plates_at(self, site: str | None) -> list[PlateSummary]:
        return [
            plate
            for site_id in sorted(self.plates)
            if site is None or site_id == site
            for plate in self.plates[site_id].plates
        ]

    def job(self, job_id: str) -> QueuedJob | None:
        if self.queue is None:
            return None
        return next((job for job in self.queue.jobs if job.job_id == job_id), None)

    def shops_by_job(self) -> dict[str, str]:
        """job id -> shop id for the jobs the queue summary names."""
        if self.queue is None:
            return {}
        return {job.job_id: job.shop_id for job in self.queue.jobs}

    def alerts_at(self, site: str | None) -> list[Alert]:
        """Open alerts for `site` (None: all): the controller's, completed (`tui.alerts`)."""
        return open_alerts(self.alerts, self.printers_at(site), self.queue, site)

    def timezone_of(self, site: str | None) -> str:
        summary = self.sites.get(site) if site else None
        return summary.timezone if summary else "UTC"

    def site_ids(self) -> list[str]:
        known = set(self.sites) | {site for site, _ in self.printers} | set(self.plates)
        return sorted(known)

    def _view(self, site: str, printer: str, name: str) -> PrinterView:
        key = (site, printer)
        view = self.printers.get(key)
        if view is None:
            view = PrinterView(site_id=site, printer_id=printer, name=name)
            self.printers[key] = view
            self._by_site.setdefault(site, {})[printer] = view
            self._changes.new_printers = True
        return view

    def _touched(self, view: PrinterView) -> None:
        view.received_monotonic = time.monotonic()
        self._changes.printers.add(view.key)
