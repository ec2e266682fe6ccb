"""The text panels of a printer's detail: what it is doing, its recent events and errors,
and the staff actions taken on it with the controller's answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from rich.table import Table
from rich.text import Text

from protocol.messages.fleet import Alert
from protocol.messages.printer import EventKind, PrinterEvent, PrinterStatus
from protocol.messages.staff import StaffReply
from tui.formatting import (
    NO_VALUE,
    SEVERITY_STYLES,
    duration,
    local_time,
    material_text,
    progress_bar,
    state_text,
    temperature,
)
from tui.staff_actions import PendingCommand
from tui.store import PrinterView

EVENT_STYLES: dict[EventKind, str] = {
    EventKind.PLATE_FAILED: "bold red",
    EventKind.PLATE_REJECTED: "bold red",
    EventKind.ERROR: "bold red",
    EventKind.PART_FAILED: "red",
    EventKind.NEEDS_OPERATOR: "bold yellow",
    EventKind.COMMAND_REFUSED: "yellow",
    EventKind.PLATE_FINISHED: "green",
    EventKind.PLATE_STARTED: "green",
    EventKind.PLATE_CANCELLED: "magenta",
    EventKind.PART_CANCELLED: "magenta",
}


def info_table(view: PrinterView, timezone: str, now: datetime) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim", no_wrap=True)
    table.add_column()
    busy = view.state in (PrinterStatus.PRINTING, PrinterStatus.PAUSED)
    rows: list[tuple[str, Text | str]] = [
        ("state", state_text(view.state)),
        ("printer", f"{view.name} ({view.printer_id}) at {view.site_id}"),
        ("profile", view.profile_id or NO_VALUE),
        ("loaded", material_text(view.material, view.colour)),
        ("nozzle", temperature(view.nozzle_c, view.nozzle_target_c)),
        ("bed", temperature(view.bed_c, view.bed_target_c)),
        ("plate", view.plate_id or NO_VALUE),
        ("progress", progress_bar(view.progress if busy or view.progress else None, 16)),
        ("time left", duration(view.seconds_left) if busy else NO_VALUE),
        ("finishes", local_time(view.finishes_at, timezone, now) if busy else NO_VALUE),
        ("next plates", str(view.queued_plates)),
        ("as of", local_time(view.as_of, timezone, now)),
    ]
    if view.error:
        rows.append(("error", Text(view.error, style="bold red")))
    for label, value in rows:
        table.add_row(label, value)
    return table


def events_text(
    events: Iterable[PrinterEvent], alerts: list[Alert], timezone: str, now: datetime
) -> Text:
    """Open alerts first, then the newest events (errors in red)."""
    text = Text()
    for alert in alerts:
        text.append(f" {alert.severity.value} ", style=SEVERITY_STYLES[alert.severity])
        text.append(f" {alert.message}\n")
    shown = list(events)[::-1]
    for event in shown:
        text.append(f"{local_time(event.at, timezone, now):>5} ", style="dim")
        text.append(event.kind.value.replace("_", " "), style=EVENT_STYLES.get(event.kind, ""))
        if event.plate_id:
            text.append(f" {event.plate_id}", style="dim")
        if event.part_ids:
            text.append(f" parts {', '.join(event.part_ids[:4])}", style="dim")
        if event.details:
            text.append(f": {event.details.splitlines()[0][:120]}")
        text.append("\n")
    if not alerts and not shown:
        text.append("no events heard since the TUI started", style="dim")
    text.rstrip()
    return text


def actions_text(
    waiting: list[PendingCommand],
    answered: list[tuple[PendingCommand, StaffReply]],
    timezone: str,
    now: datetime,
) -> Text:
    """Actions taken from this TUI: waiting for the controller, then the answers."""
    text = Text()
    for pending in waiting:
        text.append("… ", style="yellow")
        text.append(f"{pending.description}: waiting for the controller\n", style="yellow")
    for pending, reply in answered[::-1]:
        text.append(f"{local_time(reply.at, timezone, now):>5} ", style="dim")
        if reply.accepted:
            text.append("✓ accepted ", style="bold green")
        else:
            text.append("✖ refused ", style="bold red")
        text.append(pending.description)
        if reply.reason:
            text.append(f": {reply.reason}", style="" if reply.accepted else "red")
        text.append("\n")
    if not waiting and not answered:
        text.append("no actions taken yet", style="dim")
    text.rstrip()
    return text
