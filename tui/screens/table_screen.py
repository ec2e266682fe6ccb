"""A screen built around one table of summary rows, with `/` search and `s` sort.

The queue, plates, sites and alerts views show at most a few hundred rows that arrive as
one summary message, so they redraw their table when their summary changes (the fleet
view, with 1,000 printers updating every second, updates cells instead). A subclass says
which columns it has and turns the store into `Row`s; filtering, sorting by any column
(`s` cycles, or click the header) and keeping the cursor on the same row live here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input, Static

from tui.fleet_rows import filter_words
from tui.screens.base import FarmScreen
from tui.store import Changes


@dataclass(frozen=True)
class Row:
    key: str
    cells: tuple[Text | str, ...]
    sort_values: tuple[object, ...]  # one per column, comparable within a column
    search: str = ""
    data: object = field(default=None, compare=False)


class TableScreen(FarmScreen):
    COLUMNS: ClassVar[tuple[tuple[str, int | None], ...]] = ()  # label, width
    DEFAULT_SORT: ClassVar[int] = 0
    AUTO_FOCUS = "#table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Search"),
        Binding("s", "sort", "Sort"),
        Binding("escape", "clear_filter", "Clear search", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sort_column = self.DEFAULT_SORT
        self.sort_reverse = False
        self.filter_text = ""
        self.rows: list[Row] = []

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Static(id="summary", classes="summary")
        yield Input(
            placeholder="search: words that must all match (Esc clears)",
            id="table-filter",
            classes="filter",
        )
        table: DataTable[Text | str] = DataTable(id="table", cursor_type="row", zebra_stripes=True)
        for index, (label, width) in enumerate(self.COLUMNS):
            table.add_column(label, key=str(index), width=width)
        yield table
        yield from self.compose_below()
        yield from self.compose_footer()

    def compose_below(self) -> ComposeResult:
        """Widgets under the table (the plates view's bed drawing)."""
        yield from ()

    @property
    def table(self) -> DataTable[Text | str]:
        return self.query_one("#table", DataTable)

    def build_rows(self) -> list[Row]:
        """The screen's rows from the store (each view defines its own)."""
        return []

    def apply_changes(self, changes: Changes) -> None:
        if self.shows(changes):
            self.sync()

    def shows(self, changes: Changes) -> bool:
        """Whether these changes touch what this screen shows (default: anything)."""
        return True

    def summary(self) -> Text | str:
        return ""

    def empty_text(self) -> str:
        return "nothing to show yet"

    def sync(self) -> None:
        table = self.table
        keep = self.selected_row()
        words = filter_words(self.filter_text)
        rows = [row for row in self.build_rows() if all(w in row.search.lower() for w in words)]
        column = self.sort_column
        rows.sort(key=lambda row: _comparable(row.sort_values[column]), reverse=self.sort_reverse)
        self.rows = rows
        table.clear()
        for row in rows:
            table.add_row(*row.cells, key=row.key)
        keys = [row.key for row in rows]
        if keep is not None and keep.key in keys:
            table.move_cursor(row=keys.index(keep.key), animate=False)
        label = self.COLUMNS[column][0]
        arrow = "↓" if not self.sort_reverse else "↑"
        search = f" · search “{self.filter_text}”" if self.filter_text else ""
        table.border_title = f"{len(rows)} rows · sorted by {label} {arrow}{search}"
        if not rows:
            table.border_title = self.empty_text()
        self.query_one("#summary", Static).update(self.summary())
        self.row_highlighted(self.selected_row())

    def selected_row(self) -> Row | None:
        if not self.rows:
            return None
        index = self.table.cursor_row
        return self.rows[index] if 0 <= index < len(self.rows) else None

    def row_highlighted(self, row: Row | None) -> None:
        """The cursor moved to `row` (None: the table is empty)."""

    def row_chosen(self, row: Row) -> None:
        """Enter on `row`."""

    @on(DataTable.RowHighlighted, "#table")
    def _highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self.row_highlighted(self.selected_row())

    @on(DataTable.RowSelected, "#table")
    def _selected(self, _event: DataTable.RowSelected) -> None:
        row = self.selected_row()
        if row is not None:
            self.row_chosen(row)

    @on(DataTable.HeaderSelected, "#table")
    def _header(self, event: DataTable.HeaderSelected) -> None:
        column = int(str(event.column_key.value))
        self.sort_reverse = not self.sort_reverse if column == self.sort_column else False
        self.sort_column = column
        self.sync()

    def action_sort(self) -> None:
        self.sort_column = (self.sort_column + 1) % len(self.COLUMNS)
        self.sort_reverse = False
        self.sync()
        self.notify(f"sorted by {self.COLUMNS[self.sort_column][0]}", timeout=2)

    def action_filter(self) -> None:
        box = self.query_one("#table-filter", Input)
        box.add_class("shown")
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#table-filter", Input)
        box.value = ""
        box.remove_class("shown")
        self.table.focus()

    @on(Input.Changed, "#table-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self.sync()

    @on(Input.Submitted, "#table-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            event.input.remove_class("shown")
        self.table.focus()


def _comparable(value: object) -> tuple[int, object]:
    """None sorts last; everything else by its own order."""
    return (1, "") if value is None else (0, value)
