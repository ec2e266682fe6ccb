"""The sites view (`4`): load per makerspace and what it needs next.

One line per site: printers printing, idle, waiting for staff, offline, in error or
maintenance; parts queued; parts the scheduler moved in from other sites' areas and out to
other sites. Under the table, the spools staff at the highlighted site will load next.
"""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from protocol.messages.fleet import SiteSummary
from tui.formatting import NO_VALUE, local_time, material_text
from tui.screens.table_screen import Row, TableScreen
from tui.store import Changes


def _count(value: int, style: str) -> Text:
    return Text(str(value), style=style if value else "dim")


class SitesScreen(TableScreen):
    VIEW_NAME = "sites"
    COLUMNS: ClassVar[tuple[tuple[str, int | None], ...]] = (
        ("Site", 12),
        ("Name", 22),
        ("Local", 6),
        ("Printers", 8),
        ("Printing", 8),
        ("Idle", 5),
        ("Waiting", 7),
        ("Offline", 7),
        ("Error", 5),
        ("Maint.", 6),
        ("Queued", 7),
        ("Moved in", 8),
        ("Moved out", 9),
    )

    def compose_below(self) -> ComposeResult:
        yield Static(id="site-needs", classes="panel")

    def build_rows(self) -> list[Row]:
        return [self._row(site) for site in self.store.sites.values()]

    def _row(self, site: SiteSummary) -> Row:
        cells = (
            Text(site.site_id, style="bold" if site.site_id == self.farm_app.site else ""),
            site.name,
            local_time(self.farm_app.now(), site.timezone, self.farm_app.now()),
            str(site.printers),
            _count(site.printing, "green"),
            _count(site.idle, "cyan"),
            _count(site.waiting_for_staff, "bold yellow"),
            _count(site.offline, "bold red"),
            _count(site.error, "bold white on red"),
            _count(site.maintenance, "magenta"),
            str(site.parts_queued),
            _count(site.parts_moved_in, "blue"),
            _count(site.parts_moved_out, "blue"),
        )
        sort = (
            site.site_id,
            site.name,
            site.timezone,
            -site.printers,
            -site.printing,
            -site.idle,
            -site.waiting_for_staff,
            -site.offline,
            -site.error,
            -site.maintenance,
            -site.parts_queued,
            -site.parts_moved_in,
            -site.parts_moved_out,
        )
        return Row(site.site_id, cells, sort, f"{site.site_id} {site.name}", site)

    def shows(self, changes: Changes) -> bool:
        return bool(changes.sites)

    def summary(self) -> Text:
        sites = list(self.store.sites.values())
        text = Text(f" {len(sites)} sites · ")
        text.append(f"{sum(s.printing for s in sites)} printing", style="green")
        text.append(" · ")
        text.append(f"{sum(s.idle for s in sites)} idle", style="cyan")
        text.append(" · ")
        text.append(
            f"{sum(s.waiting_for_staff for s in sites)} waiting for staff", style="bold yellow"
        )
        text.append(f" · {sum(s.parts_queued for s in sites)} parts queued")
        return text

    def empty_text(self) -> str:
        return "no site summaries yet (is the controller running?)"

    def row_highlighted(self, row: Row | None) -> None:
        panel = self.query_one("#site-needs", Static)
        site = row.data if row is not None else None
        if not isinstance(site, SiteSummary):
            panel.update("")
            return
        panel.border_title = f"spools needed next at {site.name}"
        if not site.materials_needed_next:
            panel.update(Text("no spool changes planned", style="dim"))
            return
        table = Table.grid(padding=(0, 2))
        for need in site.materials_needed_next:
            table.add_row(
                material_text(need.material, need.colour),
                need.printer_id or NO_VALUE,
                local_time(need.needed_at, site.timezone, self.farm_app.now()),
            )
        panel.update(table)
