"""The help screen (`?`): what each view shows, every key, and how actions are confirmed."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.formatting import STATE_LOOKS
from tui.staff_actions import PRINTER_ACTIONS

VIEW_KEYS = (
    ("1", "Fleet: every printer, grouped by site; Enter opens a printer"),
    ("2", "Queue: open jobs by state, shop, material and due time; late ones in red"),
    ("3", "Plates: planned and running plates, with a drawing of the bed"),
    ("4", "Sites: load per makerspace, spools needed next, parts moved between sites"),
    ("a", "Alerts: printers needing an operator, errors, offline printers, late jobs"),
    ("t", "Follow one site, or all sites"),
    ("/", "Filter the table: every word must match (Esc clears)"),
    ("s", "Sort: cycles the order (or click a column header)"),
    ("ctrl+p", "Command palette: every action and view by name"),
    ("?", "This help"),
    ("q", "Quit"),
)


def help_text() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    table.add_row(Text("Views", style="bold underline"), "")
    for key, text in VIEW_KEYS:
        table.add_row(key, text)
    table.add_row("", "")
    table.add_row(Text("Printer detail", style="bold underline"), "")
    for action in PRINTER_ACTIONS:
        note = " (asks to confirm)" if action.destructive else ""
        table.add_row(action.key, f"{action.title}: {action.help}{note}")
    table.add_row("esc", "back to the fleet")
    table.add_row("", "")
    table.add_row(Text("Queue", style="bold underline"), "")
    table.add_row(
        "c", "Cancel the highlighted job: its unprinted parts are dropped (asks to confirm)"
    )
    table.add_row("r", "Requeue the highlighted job's failed parts")
    table.add_row("", "")
    table.add_row(Text("Printer states", style="bold underline"), "")
    for look in STATE_LOOKS.values():
        table.add_row(Text(look.symbol, style=look.style), Text(look.label, style=look.style))
    table.add_row("", "")
    table.add_row(
        "",
        Text(
            "Every action shows the controller's answer (accepted or refused "
            "with the reason) as a notification.",
            style="dim",
        ),
    )
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Static(
                Text("makerfarm staff terminal: help", style="bold"), classes="dialog-title"
            )
            yield Static(help_text())

    def action_close(self) -> None:
        self.dismiss(None)
