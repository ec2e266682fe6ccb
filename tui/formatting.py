"""How values look on screen: printer states with a colour and a symbol, progress bars,
temperatures, durations and times in a site's local time zone.

Every screen formats through here, so "awaiting bed clear" looks the same in the fleet
table, the printer detail and the alerts list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.text import Text

from protocol.messages.fleet import Severity
from protocol.messages.printer import PrinterStatus
from protocol.states import JobState, PartState, PlateState

NO_VALUE = "—"


@dataclass(frozen=True)
class StateLook:
    symbol: str
    label: str
    style: str


STATE_LOOKS: dict[PrinterStatus, StateLook] = {
    PrinterStatus.PRINTING: StateLook("▶", "printing", "bold green"),
    PrinterStatus.HEATING: StateLook("♨", "heating", "green"),
    PrinterStatus.IDLE: StateLook("○", "idle", "cyan"),
    PrinterStatus.AWAITING_BED_CLEAR: StateLook("⏏", "bed clear?", "bold yellow"),
    PrinterStatus.PAUSED: StateLook("⏸", "paused", "yellow"),
    PrinterStatus.NEEDS_OPERATOR: StateLook("✋", "operator!", "bold black on yellow"),
    PrinterStatus.ERROR: StateLook("✖", "error", "bold white on red"),
    PrinterStatus.OFFLINE: StateLook("⌁", "offline", "bold red"),
    PrinterStatus.MAINTENANCE: StateLook("⚒", "maintenance", "magenta"),
    PrinterStatus.CONNECTING: StateLook("…", "connecting", "dim"),
}

# Sort order for "state": what needs a person first.
STATE_URGENCY: dict[PrinterStatus, int] = {
    PrinterStatus.ERROR: 0,
    PrinterStatus.NEEDS_OPERATOR: 1,
    PrinterStatus.OFFLINE: 2,
    PrinterStatus.AWAITING_BED_CLEAR: 3,
    PrinterStatus.PAUSED: 4,
    PrinterStatus.IDLE: 5,
    PrinterStatus.HEATING: 6,
    PrinterStatus.PRINTING: 7,
    PrinterStatus.CONNECTING: 8,
    PrinterStatus.MAINTENANCE: 9,
}

SEVERITY_STYLES: dict[Severity, str] = {
    Severity.CRITICAL: "bold white on red",
    Severity.WARNING: "bold black on yellow",
    Severity.INFO: "cyan",
}

PART_STATE_STYLES: dict[PartState, str] = {
    PartState.QUEUED: "dim",
    PartState.PLANNED: "cyan",
    PartState.PRINTING: "green",
    PartState.PRINTED: "bold green",
    PartState.FAILED: "bold red",
    PartState.CANCELLED: "dim strike",
}

PLATE_STATE_STYLES: dict[PlateState, str] = {
    PlateState.PLANNED: "cyan",
    PlateState.SLICED: "cyan",
    PlateState.SENT: "blue",
    PlateState.PRINTING: "bold green",
    PlateState.AWAITING_BED_CLEAR: "bold yellow",
    PlateState.DONE: "dim",
    PlateState.FAILED: "bold red",
    PlateState.CANCELLED: "dim",
}

JOB_STATE_STYLES: dict[JobState, str] = {
    JobState.RECEIVED: "dim",
    JobState.ACCEPTED: "cyan",
    JobState.PLANNED: "blue",
    JobState.PRINTING: "green",
    JobState.DONE: "bold green",
    JobState.REJECTED: "red",
    JobState.FAILED: "bold red",
    JobState.CANCELLED: "dim",
}


def state_text(state: PrinterStatus) -> Text:
    look = STATE_LOOKS[state]
    return Text(f"{look.symbol} {look.label}", style=look.style)


def progress_bar(progress: float | None, width: int = 10) -> Text:
    """`███████▌── 76%`: eighths of a block for a smooth bar in a narrow column."""
    if progress is None:
        return Text(NO_VALUE, style="dim")
    fraction = min(max(progress, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    full, rest = divmod(eighths, 8)
    bar = "█" * full + ("" if rest == 0 else " ▏▎▍▌▋▊▉"[rest])
    text = Text(bar, style="green")
    text.append("─" * (width - len(bar)), style="dim")
    text.append(f" {fraction * 100:3.0f}%")
    return text


def temperature(current: float | None, target: float | None) -> Text:
    """`214°/215°`; the target is left out when the heater is off."""
    if current is None:
        return Text(NO_VALUE, style="dim")
    text = Text(f"{current:.0f}°")
    if target:
        text.append(f"/{target:.0f}°", style="dim")
        if abs(current - target) > 10:
            text.stylize("yellow", 0, len(f"{current:.0f}°"))
    return text


def duration(seconds: float | None) -> str:
    """`2h05m`, `14m`, `40s`."""
    if seconds is None:
        return NO_VALUE
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes = rest // 60
    if hours >= 24:
        return f"{hours // 24}d{hours % 24:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{whole}s"


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(moment: datetime | None, timezone: str, now: datetime | None = None) -> str:
    """`14:05` in the site's zone; the weekday (or the date) when it is not today there."""
    if moment is None:
        return NO_VALUE
    tz = zone(timezone)
    local = moment.astimezone(tz)
    today = (now or datetime.now(UTC)).astimezone(tz).date()
    if local.date() == today:
        return f"{local:%H:%M}"
    if abs((local.date() - today).days) < 6:
        return f"{local:%a %H:%M}"
    return f"{local:%d %b %H:%M}"


def material_text(material: str | None, colour: str | None) -> Text:
    """`● PLA black`: the dot in the colour when it is a hex code or a colour Rich knows."""
    if material is None:
        return Text(NO_VALUE, style="dim")
    text = Text()
    swatch = _swatch_style(colour)
    text.append("● " if swatch else "  ", style=swatch or "")
    text.append(material)
    if colour:
        text.append(f" {colour}", style="dim")
    return text


_NAMED_COLOURS = {
    "black": "grey35",
    "white": "grey93",
    "grey": "grey50",
    "gray": "grey50",
    "silver": "grey70",
    "red": "red",
    "orange": "dark_orange",
    "yellow": "yellow",
    "green": "green",
    "blue": "dodger_blue2",
    "purple": "purple",
    "pink": "hot_pink",
    "brown": "orange4",
    "natural": "wheat1",
    "transparent": "grey42",
}


def _swatch_style(colour: str | None) -> str | None:
    if not colour:
        return None
    if len(colour) == 7 and colour.startswith("#"):
        return colour
    return _NAMED_COLOURS.get(colour.split()[0].split("-")[0])
