"""Cell updates re-render only what changed: the table and the fleet view with 1,000 rows."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult

from protocol.messages.printer import PrinterStatus
from tests.tui.controller_double import until
from tests.tui.farm_data import NOW, agent_state, printer_summary
from tui.app import MakerfarmApp
from tui.screens.fleet import FleetScreen
from tui.store import FleetStore
from tui.widgets.incremental_table import IncrementalTable


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        table: IncrementalTable[str] = IncrementalTable()
        table.add_column("name", key="name")
        table.add_column("state", key="state", width=10)
        for n in range(100):
            table.add_row(f"printer-{n}", "idle", key=f"p{n}")
        yield table


def test_a_changed_cell_shows_and_other_lines_are_not_rendered_again() -> None:
    async def scenario() -> None:
        app = TableApp()
        async with app.run_test(size=(40, 20)) as pilot:
            table = app.query_one(IncrementalTable)
            await pilot.pause()
            untouched_before = table.render_line(6)
            changed_before = table.render_line(3)
            assert "idle" in changed_before.text
            assert table.set_cells([("p2", "state", "printing")]) == 1
            await pilot.pause()
            assert "printing" in table.render_line(3).text
            assert table.render_line(6) is untouched_before  # reused from the cache

    asyncio.run(scenario())


def _thousand_printers() -> FleetStore:
    store = FleetStore()
    for n in range(1000):
        store.apply_printer_summary(
            printer_summary(
                "big",
                f"p{n:04d}",
                f"p{n:04d}",
                PrinterStatus.IDLE,
                "PLA",
                "black",
                None,
                None,
                None,
                0,
            )
        )
    return store


def test_the_fleet_updates_rows_in_place_and_off_screen_rows_when_scrolled_to() -> None:
    async def scenario() -> None:
        store = _thousand_printers()
        app = MakerfarmApp(store=store, site="big", clock=lambda: NOW, staff_user="ada")
        async with app.run_test(size=(140, 30)) as pilot:
            await until(
                app,
                lambda: isinstance(app.screen, FleetScreen) and app.screen.table.row_count == 1000,
                "1,000 rows",
            )
            fleet = app.screen
            assert isinstance(fleet, FleetScreen)
            rebuilds = fleet.rebuilds
            for printer, sequence in (("p0001", 1), ("p0900", 1)):
                store.apply_printer_state(
                    "big",
                    printer,
                    agent_state(
                        PrinterStatus.PRINTING, sequence, 210, 60, (215, 60), "plate-9", 0.5, 600
                    ),
                )
            app.refresh_from_store()
            await pilot.pause()
            table = fleet.table
            assert "printing" in str(table.get_cell("big/p0001", "state"))
            assert "idle" in str(table.get_cell("big/p0900", "state"))  # not on screen yet
            table.move_cursor(row=900, animate=False)
            table.scroll_to(y=890, animate=False)
            await pilot.pause()
            assert "printing" in str(table.get_cell("big/p0900", "state"))
            assert fleet.rebuilds == rebuilds

    asyncio.run(scenario())
