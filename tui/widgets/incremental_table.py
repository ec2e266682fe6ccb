"""A DataTable whose cell updates re-render only the rows they touch.

`DataTable.update_cell` bumps one table-wide counter that is part of every render cache
key, so a single changed cell re-renders every visible line of the table. With 1,000
printers reporting once a second that is the whole screen on every refresh tick.
`set_cells` writes a batch of cells and forgets only the changed cells' cached renders (and
the cached lines they are on), so the next paint renders just those cells and reuses every
other cell and line.

It reaches into DataTable's render caches, which are private: Textual is pinned in
constraints.txt, and `tests/tui/test_incremental_table.py` fails if an update stops
showing (or starts re-rendering everything) after an upgrade.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from textual.cache import LRUCache
from textual.widgets import DataTable
from textual.widgets.data_table import CellType, ColumnKey, RowKey


class IncrementalTable(DataTable[CellType]):
    def set_cells(self, updates: Iterable[tuple[str, str, CellType]]) -> int:
        """Write `(row key, column key, value)` cells; returns how many rows changed."""
        cells: set[tuple[RowKey, ColumnKey]] = set()
        for row_key, column_key, value in updates:
            cell = (RowKey(row_key), ColumnKey(column_key))
            self._data[cell[0]][cell[1]] = value
            cells.add(cell)
        if cells:
            self._forget_rendered(cells)
            self.refresh()
        return len({row for row, _column in cells})

    def row_index(self, row_key: str) -> int | None:
        """Where the row is, top to bottom (None: not in the table)."""
        return self._row_locations.get(RowKey(row_key))

    def visible_rows(self) -> range:
        """Indices of the rows on screen now (rows are one line high)."""
        first = max(0, round(self.scroll_offset.y))
        return range(first, first + max(self.size.height, 1))

    def _forget_rendered(self, cells: set[tuple[RowKey, ColumnKey]]) -> None:
        """Drop the cached renders of the changed cells and of the lines they are on."""
        rows = {row for row, _column in cells}
        indices = {self._row_locations.get(row) for row in rows} - {None}
        header = self.header_height if self.show_header else 0
        lines = {index + header for index in indices if index is not None}
        _discard(self._cell_render_cache, lambda key: (key[0], key[1]) in cells)
        _discard(self._row_render_cache, lambda key: key[0] in rows)
        _discard(self._row_renderable_cache, lambda key: key[1] in indices)
        _discard(self._line_cache, lambda key: key[0] in lines)


def _discard(cache: LRUCache[Any, Any], stale: Callable[[Any], bool]) -> None:
    keys = cache.keys()  # a view of the LRU cache's keys; copied before discarding
    for key in [key for key in keys if stale(key)]:
        cache.discard(key)
