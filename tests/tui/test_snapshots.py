"""Snapshot tests: every screen with the fixed farm of `farm_data`, as staff see it.

The SVGs under `__snapshots__/` were reviewed by eye (rendered to PNG) before they were
committed; update them with `pytest tests/tui/test_snapshots.py --snapshot-update` and
look at the new ones again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from tests.tui.controller_double import on_top, open_printer
from tests.tui.farm_data import NOW, farm_store
from tui.app import MakerfarmApp
from tui.mqtt_worker import LinkStatus
from tui.screens.dialogs import ConfirmDialog

SIZE = (140, 36)
Compare = Callable[..., bool]


def farm_app(site: str | None = None) -> MakerfarmApp:
    return MakerfarmApp(store=farm_store(), site=site, clock=lambda: NOW, staff_user="ada")


async def connected(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, MakerfarmApp)
    app.link_status = LinkStatus(True, "connected to mqtt://farm:1883")
    await pilot.pause()


def test_fleet_of_all_sites_grouped_by_site(snap_compare: Compare) -> None:
    assert snap_compare(farm_app(), terminal_size=SIZE, run_before=connected)


def test_fleet_of_one_site_filtered(snap_compare: Compare) -> None:
    async def filtered(pilot: Pilot[Any]) -> None:
        await connected(pilot)
        await pilot.press("slash", *"printing", "enter")

    assert snap_compare(farm_app("berlin"), terminal_size=SIZE, run_before=filtered)


def test_printer_detail(snap_compare: Compare) -> None:
    async def detail(pilot: Pilot[Any]) -> None:
        await connected(pilot)
        app = pilot.app
        assert isinstance(app, MakerfarmApp)
        await open_printer(app, "berlin", "mk4-01")

    assert snap_compare(farm_app(), terminal_size=SIZE, run_before=detail)


def test_cancel_plate_asks_for_confirmation(snap_compare: Compare) -> None:
    async def confirm(pilot: Pilot[Any]) -> None:
        await connected(pilot)
        app = pilot.app
        assert isinstance(app, MakerfarmApp)
        await open_printer(app, "berlin", "mk4-01")
        await pilot.press("c")
        await on_top(app, ConfirmDialog)

    assert snap_compare(farm_app(), terminal_size=SIZE, run_before=confirm)


def test_queue(snap_compare: Compare) -> None:
    assert snap_compare(farm_app(), press=["2"], terminal_size=SIZE, run_before=connected)


def test_plates_with_the_bed_drawing(snap_compare: Compare) -> None:
    assert snap_compare(farm_app(), press=["3"], terminal_size=SIZE, run_before=connected)


def test_sites(snap_compare: Compare) -> None:
    assert snap_compare(farm_app(), press=["4"], terminal_size=SIZE, run_before=connected)


def test_alerts(snap_compare: Compare) -> None:
    assert snap_compare(farm_app(), press=["a"], terminal_size=SIZE, run_before=connected)


def test_help(snap_compare: Compare) -> None:
    assert snap_compare(
        farm_app(), press=["question_mark"], terminal_size=SIZE, run_before=connected
    )


def test_broker_unreachable_is_said_on_every_screen(snap_compare: Compare) -> None:
    async def unreachable(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, MakerfarmApp)
        app.link_status = LinkStatus(
            False,
            "cannot reach the broker at mqtt://farm:1883: connection refused (is the "
            "broker running?); retrying in 4 s",
            attempts=3,
        )
        await pilot.pause()

    assert snap_compare(farm_app(), press=["2"], terminal_size=SIZE, run_before=unreachable)
