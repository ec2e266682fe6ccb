"""The fleet view: every printer of the site in scope (or of all sites, grouped by site).

The table is built once and then updated cell by cell: a batch of changed printers touches
only the cells whose text changed. It is rebuilt only when the set or order of rows
changes (a new printer, a filter, a sort; a volatile sort at most every
`RESORT_INTERVAL_S`), keeping the cursor on the same printer. `/` filters, `s` cycles the
sort order (or click a column header), Enter opens the printer's detail.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input

from tui.fleet_rows import (
    COLUMN_KEYS,
    COLUMNS,
    SORT_BY_COLUMN,
    GroupLine,
    Line,
    SortOrder,
    filter_words,
    group_cells,
    ordered_lines,
    row_cells,
    row_key,
)
from tui.screens.base import FarmScreen
from tui.store import Changes, PrinterKey
from tui.widgets.incremental_table import IncrementalTable

RESORT_INTERVAL_S = 5.0


class FleetScreen(FarmScreen):
    VIEW_NAME = "fleet"
    AUTO_FOCUS = "#fleet-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_printer", "Detail", priority=False),
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.fleet_order = SortOrder.SITE
        self.filter_text = ""
        self._lines: list[Line] = []
        self._cells: dict[str, tuple[Text | str, ...]] = {}
        self._last_sorted = 0.0
        self._offscreen: set[PrinterKey] = set()
        self.rebuilds = 0

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Input(
            placeholder="filter: words that must all match (Enter to keep, Esc to clear)",
            id="fleet-filter",
            classes="filter",
        )
        table: IncrementalTable[Text | str] = IncrementalTable(
            id="fleet-table", cursor_type="row", zebra_stripes=True
        )
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        yield table
        yield from self.compose_footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.watch(self.table, "scroll_y", self._scrolled, init=False)

    def _scrolled(self, _scroll_y: float) -> None:
        if self._offscreen:
            self._update_rows(set())

    @property
    def table(self) -> IncrementalTable[Text | str]:
        return self.query_one("#fleet-table", IncrementalTable)

    # Building and updating the table.

    def sync(self) -> None:
        self._rebuild()

    def apply_changes(self, changes: Changes) -> None:
        now = time.monotonic()
        resort = self.fleet_order.volatile and now - self._last_sorted >= RESORT_INTERVAL_S
        if changes.new_printers or changes.sites or resort or self._membership_changed(changes):
            if self._compute_lines() != self._lines:
                self._rebuild()
                return
            self._last_sorted = now
        self._update_rows(changes.printers)

    def _compute_lines(self) -> list[Line]:
        app = self.farm_app
        return ordered_lines(
            self.store.printers_at(app.site),
            self.fleet_order,
            filter_words(self.filter_text),
            grouped=app.site is None,
        )

    def _membership_changed(self, changes: Changes) -> bool:
        """With a filter on, a changed printer may enter or leave the table."""
        if not self.filter_text or not changes.printers:
            return False
        shown = {line for line in self._lines if not isinstance(line, GroupLine)}
        wanted = {line for line in self._compute_lines() if not isinstance(line, GroupLine)}
        return shown != wanted

    def _rebuild(self) -> None:
        table = self.table
        cursor_key = self._cursor_key()
        self._lines = self._compute_lines()
        self._last_sorted = time.monotonic()
        self._cells = {}
        self._offscreen = set()
        table.clear()
        for line in self._lines:
            key = row_key(line)
            cells = self._line_cells(line)
            self._cells[key] = cells
            table.add_row(*cells, key=key)
        self.rebuilds += 1
        self._restore_cursor(cursor_key)
        self._show_title()

    def _update_rows(self, printers: set[PrinterKey]) -> None:
        """Show the changed printers that are on screen; the others wait, marked, until
        they scroll into view (computing and painting rows nobody sees is most of the
        cost of 1,000 printers reporting every second)."""
        table = self.table
        self._offscreen |= printers
        sites = {site for site, _printer in printers}
        if not self._offscreen:
            return
        visible = table.visible_rows()
        margin = visible.stop - visible.start
        window = range(max(0, visible.start - margin), visible.stop + margin)
        shown: list[PrinterKey] = []
        for printer in self._offscreen:
            index = table.row_index(row_key(printer))
            if index is None:
                shown.append(printer)  # filtered out: nothing to paint
            elif index in window:
                shown.append(printer)
        updates: list[tuple[str, str, Text | str]] = []
        for printer in shown:
            self._offscreen.discard(printer)
            key = row_key(printer)
            if key in self._cells:
                updates.extend(self._row_updates(key, printer))
        if self.farm_app.site is None:
            for site in sites:
                updates.extend(self._row_updates(GroupLine(site).row_key, GroupLine(site)))
        table.set_cells(updates)

    def _row_updates(self, key: str, line: Line) -> list[tuple[str, str, Text | str]]:
        old = self._cells.get(key)
        if old is None:
            return []
        new = self._line_cells(line)
        self._cells[key] = new
        return [
            (key, column, after)
            for column, before, after in zip(COLUMN_KEYS, old, new, strict=True)
            if before != after
        ]

    def _line_cells(self, line: Line) -> tuple[Text | str, ...]:
        store = self.store
        if isinstance(line, GroupLine):
            summary = store.sites.get(line.site_id)
            name = summary.name if summary else line.site_id
            return group_cells(line.site_id, name, store.printers_at(line.site_id))
        view = store.printers[line]
        return row_cells(view, store.timezone_of(view.site_id), self.farm_app.now())

    def _cursor_key(self) -> str | None:
        table = self.table
        if not self._lines or table.row_count == 0:
            return None
        index = min(table.cursor_row, len(self._lines) - 1)
        return row_key(self._lines[index])

    def _restore_cursor(self, key: str | None) -> None:
        keys = [row_key(line) for line in self._lines]
        index = keys.index(key) if key in keys else 0
        if index == 0 and self._lines and isinstance(self._lines[0], GroupLine):
            index = 1 if len(self._lines) > 1 else 0
        self.table.move_cursor(row=index, animate=False)

    def _show_title(self) -> None:
        printers = sum(1 for line in self._lines if not isinstance(line, GroupLine))
        total = len(self.store.printers_at(self.farm_app.site))
        shown = f"{printers} of {total} printers" if self.filter_text else f"{total} printers"
        filtered = f" · filter “{self.filter_text}”" if self.filter_text else ""
        self.table.border_title = f"{shown} · sorted by {self.fleet_order.value}{filtered}"

    # Reading the selection.

    def selected_printer(self) -> PrinterKey | None:
        table = self.table
        if not self._lines or table.row_count == 0:
            return None
        line = self._lines[min(table.cursor_row, len(self._lines) - 1)]
        return None if isinstance(line, GroupLine) else line

    # Actions.

    def action_open_printer(self) -> None:
        selected = self.selected_printer()
        if selected is not None:
            self.farm_app.open_printer(*selected)

    @on(DataTable.RowSelected, "#fleet-table")
    def _row_chosen(self, _event: DataTable.RowSelected) -> None:
        self.action_open_printer()

    @on(DataTable.HeaderSelected, "#fleet-table")
    def _header_chosen(self, event: DataTable.HeaderSelected) -> None:
        order = SORT_BY_COLUMN.get(str(event.column_key.value))
        if order is not None:
            self.fleet_order = order
            self._rebuild()

    def action_sort(self) -> None:
        self.fleet_order = self.fleet_order.next()
        self._rebuild()
        self.notify(f"sorted by {self.fleet_order.value}", timeout=2)

    def action_filter(self) -> None:
        box = self.query_one("#fleet-filter", Input)
        box.add_class("shown")
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#fleet-filter", Input)
        box.value = ""
        box.remove_class("shown")
        self.table.focus()

    @on(Input.Changed, "#fleet-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self._rebuild()

    @on(Input.Submitted, "#fleet-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            event.input.remove_class("shown")
        self.table.focus()

    def set_filter(self, text: str) -> None:
        """Filter the table (also what typing in the `/` box does)."""
        box = self.query_one("#fleet-filter", Input)
        box.value = text
        box.set_class(bool(text), "shown")
        self.filter_text = text.strip()
        self._rebuild()
