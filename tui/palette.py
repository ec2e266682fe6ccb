"""Command palette entries (ctrl+p) for every view and every staff action.

Printer actions act on the printer whose detail is open, or on the printer highlighted in
the fleet (its detail opens first, so the confirmation and the answer show in context).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.screen import Screen

from tui.staff_actions import PRINTER_ACTIONS

if TYPE_CHECKING:
    from tui.app import MakerfarmApp

VIEWS = (
    ("fleet", "Show the fleet", "every printer, grouped by site"),
    ("queue", "Show the queue", "open jobs; late and at-risk first"),
    ("plates", "Show the plates", "planned and running plates with a drawing of the bed"),
    ("sites", "Show the sites", "load per makerspace and spools needed next"),
    ("alerts", "Show the alerts", "operator needed, errors, offline printers, late jobs"),
)


def farm_commands(app: MakerfarmApp, screen: Screen[object]) -> Iterator[SystemCommand]:
    from tui.screens.fleet import FleetScreen
    from tui.screens.printer_detail import PrinterDetailScreen
    from tui.screens.table_screen import TableScreen

    for mode, title, help_text in VIEWS:
        yield SystemCommand(title, help_text, lambda mode=mode: app.switch_mode(mode))
    yield SystemCommand("Follow a site", "show one makerspace, or all", app.action_pick_site)
    yield SystemCommand("Help", "keys, views and printer states", app.action_help)
    if isinstance(screen, FleetScreen | TableScreen):
        yield SystemCommand(
            "Filter / search", "type words that must all match", screen.action_filter
        )
        yield SystemCommand("Sort", "cycle the sort order", screen.action_sort)
    yield from _queue_commands(screen)
    target: tuple[str, str] | None = None
    if isinstance(screen, PrinterDetailScreen):
        target = (screen.site_id, screen.printer_id)
    elif isinstance(screen, FleetScreen):
        target = screen.selected_printer()
    if target is None:
        return
    site, printer = target
    yield SystemCommand(
        f"Open printer {printer}",
        "its detail: plate, events, temperatures",
        lambda: app.open_printer(site, printer),
    )
    view = app.store.printers.get(target)
    has_plate = view is not None and view.plate_id is not None
    for action in PRINTER_ACTIONS:
        if action.needs_plate and not has_plate:
            continue
        yield SystemCommand(
            f"{action.title}: {printer}",
            action.help + (" (asks to confirm)" if action.destructive else ""),
            lambda name=action.name: run_printer_action(app, site, printer, name),
        )


def run_printer_action(app: MakerfarmApp, site: str, printer: str, name: str) -> None:
    """Run a printer action from its detail screen, opening the detail if needed."""
    from tui.screens.printer_detail import PrinterDetailScreen

    def run() -> None:
        screen = app.screen
        if isinstance(screen, PrinterDetailScreen) and screen.printer_id == printer:
            getattr(screen, f"action_{name}")()

    current = app.screen
    if isinstance(current, PrinterDetailScreen) and current.printer_id == printer:
        run()
        return
    app.open_printer(site, printer)
    app.call_after_refresh(run)


def _queue_commands(screen: Screen[object]) -> Iterator[SystemCommand]:
    from tui.screens.queue import QueueScreen

    job = screen.selected_job() if isinstance(screen, QueueScreen) else None
    if isinstance(screen, QueueScreen) and job is not None:
        yield SystemCommand(
            f"Cancel job: {job.job_id}",
            "drop its unprinted parts (asks to confirm)",
            screen.action_cancel_job,
        )
        yield SystemCommand(
            f"Requeue failed parts: {job.job_id}",
            "print its failed parts again",
            screen.action_requeue_job,
        )
