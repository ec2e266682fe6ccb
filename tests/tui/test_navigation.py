"""Keys and the command palette on fixed data: site choice, sorting, filtering, palette
entries for every action, and an action that cannot be sent without a broker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from textual.pilot import Pilot
from textual.widgets import OptionList

from tests.tui.controller_double import on_top, open_printer, until
from tests.tui.farm_data import NOW, farm_store
from tui.app import MakerfarmApp
from tui.screens.fleet import FleetScreen
from tui.screens.printer_detail import PrinterDetailScreen
from tui.screens.site_picker import SitePicker
from tui.staff_actions import PRINTER_ACTIONS

Scenario = Callable[[MakerfarmApp, Pilot[Any]], Awaitable[None]]


def play(scenario: Scenario, site: str | None = None) -> None:
    async def main() -> None:
        app = MakerfarmApp(store=farm_store(), site=site, clock=lambda: NOW, staff_user="ada")
        async with app.run_test(size=(140, 36)) as pilot:
            await until(
                app,
                lambda: isinstance(app.screen, FleetScreen) and app.screen.table.row_count > 0,
                "the fleet",
            )
            await scenario(app, pilot)

    asyncio.run(main())


def fleet_of(app: MakerfarmApp) -> FleetScreen:
    screen = app.screen
    assert isinstance(screen, FleetScreen)
    return screen


def test_t_follows_one_site_and_back_to_all() -> None:
    async def scenario(app: MakerfarmApp, pilot: Pilot[Any]) -> None:
        await pilot.press("t")
        await on_top(app, SitePicker)
        assert isinstance(app.screen, SitePicker)
        options = app.screen.query_one(OptionList)
        assert [options.get_option_at_index(i).id for i in range(options.option_count)] == [
            "*all*",
            "berlin",
            "leipzig",
        ]
        await pilot.press("down", "down", "enter")
        await until(app, lambda: app.site == "leipzig", "leipzig followed")
        assert fleet_of(app).table.row_count == 4  # its printers, no site lines
        await on_top(app, FleetScreen)
        await pilot.press("t")
        await on_top(app, SitePicker)
        await pilot.press("home", "enter")
        await until(app, lambda: app.site is None, "all sites followed")
        assert fleet_of(app).table.row_count == 12

    play(scenario)


def test_s_sorts_by_what_needs_a_person_first() -> None:
    async def scenario(app: MakerfarmApp, pilot: Pilot[Any]) -> None:
        await pilot.press("s")
        fleet = fleet_of(app)
        await until(app, lambda: fleet.fleet_order.value == "state", "the state order")
        assert fleet.selected_printer() is not None
        assert "state" in str(fleet.table.border_title)
        first_printer_row = fleet.table.get_row_at(1)  # row 0 is berlin's site line
        assert "error" in str(first_printer_row[0])

    play(scenario, site=None)


def test_slash_filters_and_escape_clears() -> None:
    async def scenario(app: MakerfarmApp, pilot: Pilot[Any]) -> None:
        fleet = fleet_of(app)
        await pilot.press("slash", *"voron")
        # leipzig's line and its two Vorons
        await until(app, lambda: fleet.table.row_count == 3, "the two Vorons")
        await pilot.press("escape")
        await until(app, lambda: fleet.table.row_count == 12, "every printer again")

    play(scenario)


def test_the_palette_offers_every_view_and_every_action_on_the_printer() -> None:
    async def scenario(app: MakerfarmApp, pilot: Pilot[Any]) -> None:
        await open_printer(app, "berlin", "mk4-01")
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for view in (
            "Show the fleet",
            "Show the queue",
            "Show the plates",
            "Show the sites",
            "Show the alerts",
            "Help",
            "Follow a site",
        ):
            assert view in titles
        for action in PRINTER_ACTIONS:
            assert f"{action.title}: mk4-01" in titles

    play(scenario)


def test_plate_actions_are_not_offered_for_a_printer_without_a_plate() -> None:
    async def scenario(app: MakerfarmApp, pilot: Pilot[Any]) -> None:
        fleet = fleet_of(app)
        keys = [fleet.selected_printer()]
        while keys[-1] != ("berlin", "mk4-04"):
            await pilot.press("down")
            keys.append(fleet.selected_printer())
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Spool loaded: mk4-04" in titles
        assert "Cancel plate: mk4-04" not in titles

    play(scenario, site="berlin")


def test_an_action_without_a_broker_says_it_was_not_sent() -> None:
    async def scenario(app: MakerfarmApp, pilot: Pilot[Any]) -> None:
        await open_printer(app, "berlin", "mk4-01")
        assert isinstance(app.screen, PrinterDetailScreen)
        await pilot.press("p")
        await until(app, lambda: bool(app._notifications), "a notification")
        messages = [n.message for n in app._notifications]
        assert any("Pause on mk4-01: not sent" in m for m in messages)
        assert len(app.pending) == 0

    play(scenario)
