"""The fleet table's content, apart from the widget: columns, one row's cells, the filter,
the sort orders and the site group lines.

Plain functions over `PrinterView`s, so the rules ("a filter word must match somewhere in
the row", "state sorts by what needs a person first") are tested without a screen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from rich.text import Text

from protocol.messages.printer import PrinterStatus
from tui.formatting import (
    NO_VALUE,
    STATE_LOOKS,
    STATE_URGENCY,
    duration,
    local_time,
    material_text,
    progress_bar,
    state_text,
    temperature,
)
from tui.store import PrinterKey, PrinterView

COLUMNS: tuple[tuple[str, str, int], ...] = (
    # key, label, width
    ("state", "State", 13),
    ("printer", "Printer", 18),
    ("material", "Material", 16),
    ("nozzle", "Nozzle", 9),
    ("bed", "Bed", 7),
    ("progress", "Progress", 15),
    ("plate", "Plate", 12),
    ("left", "Left", 6),
    ("finish", "Finish", 12),
    ("next", "Next", 4),
)
COLUMN_KEYS = tuple(key for key, _label, _width in COLUMNS)


class SortOrder(StrEnum):
    SITE = "site"
    STATE = "state"
    TIME_LEFT = "time left"
    PROGRESS = "progress"
    MATERIAL = "material"

    @property
    def volatile(self) -> bool:
        """Orders that change while printers print (re-sorted every few seconds)."""
        return self in (SortOrder.TIME_LEFT, SortOrder.PROGRESS, SortOrder.STATE)

    def next(self) -> SortOrder:
        members = list(SortOrder)
        return members[(members.index(self) + 1) % len(members)]


SORT_BY_COLUMN = {
    "state": SortOrder.STATE,
    "printer": SortOrder.SITE,
    "material": SortOrder.MATERIAL,
    "progress": SortOrder.PROGRESS,
    "left": SortOrder.TIME_LEFT,
    "finish": SortOrder.TIME_LEFT,
}


def row_cells(view: PrinterView, timezone: str, now: datetime) -> tuple[Text | str, ...]:
    """The cells of one printer's row, in `COLUMNS` order."""
    printing = view.state in (PrinterStatus.PRINTING, PrinterStatus.PAUSED)
    name = Text(view.name)
    if view.name != view.printer_id:
        name.append(f" {view.printer_id}", style="dim")
    return (
        state_text(view.state),
        name,
        material_text(view.material, view.colour),
        temperature(view.nozzle_c, view.nozzle_target_c),
        temperature(view.bed_c, view.bed_target_c),
        progress_bar(view.progress if printing or view.progress else None),
        view.plate_id or NO_VALUE,
        duration(view.seconds_left) if printing else NO_VALUE,
        local_time(view.finishes_at, timezone, now) if printing else NO_VALUE,
        str(view.queued_plates) if view.queued_plates else "",
    )


def matches(view: PrinterView, words: Iterable[str]) -> bool:
    """Every filter word appears in the printer's id, name, site, state, material or plate."""
    look = STATE_LOOKS[view.state]
    haystack = " ".join(
        (
            view.printer_id,
            view.name,
            view.site_id,
            view.state.value,
            look.label,
            view.material or "",
            view.colour or "",
            view.plate_id or "",
            view.profile_id,
            view.error,
        )
    ).lower()
    return all(word in haystack for word in words)


def filter_words(text: str) -> list[str]:
    return [word for word in text.lower().split() if word]


def sort_key(order: SortOrder) -> Callable[[PrinterView], tuple[Any, ...]]:
    def key(view: PrinterView) -> tuple[Any, ...]:
        match order:
            case SortOrder.STATE:
                return (STATE_URGENCY[view.state], view.printer_id)
            case SortOrder.TIME_LEFT:
                left = view.seconds_left if view.seconds_left is not None else float("inf")
                return (left, view.printer_id)
            case SortOrder.PROGRESS:
                return (-(view.progress or 0.0), view.printer_id)
            case SortOrder.MATERIAL:
                return (view.material or "~", view.colour or "", view.printer_id)
        return (view.printer_id,)

    return key


@dataclass(frozen=True)
class GroupLine:
    """The line that heads one site's printers."""

    site_id: str

    @property
    def row_key(self) -> str:
        return f"site:{self.site_id}"


Line = GroupLine | PrinterKey


def ordered_lines(
    views: Iterable[PrinterView], order: SortOrder, words: list[str], grouped: bool
) -> list[Line]:
    """The table's lines top to bottom: per site (when grouped) its header, then its printers."""
    shown = [view for view in views if not words or matches(view, words)]
    shown.sort(key=sort_key(order))
    if not grouped:
        return [view.key for view in shown]
    by_site: dict[str, list[PrinterKey]] = {}
    for view in shown:
        by_site.setdefault(view.site_id, []).append(view.key)
    lines: list[Line] = []
    for site in sorted(by_site):
        lines.append(GroupLine(site))
        lines.extend(by_site[site])
    return lines


def row_key(line: Line) -> str:
    if isinstance(line, GroupLine):
        return line.row_key
    return f"{line[0]}/{line[1]}"


def group_cells(site_id: str, name: str, views: list[PrinterView]) -> tuple[Text | str, ...]:
    """`▾ berlin | Fab Lab Berlin | 1✖ 1⏏ 2○ 7▶`: the line above a site's printers."""
    counts = Counter(view.state for view in views)
    tally = Text()
    for state in sorted(counts, key=lambda s: STATE_URGENCY[s]):
        look = STATE_LOOKS[state]
        if tally:
            tally.append(" ")
        tally.append(f"{counts[state]}{look.symbol}", style=look.style)
    cells: list[Text | str] = [
        Text(f"▾ {site_id}", style="bold"),
        Text(name, style="bold underline"),
        tally,
    ]
    cells.extend("" for _ in COLUMNS[3:])
    return tuple(cells)
