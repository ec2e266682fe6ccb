"""What every farm screen shares: the header with alerts, the footer, and store updates.

The app hands each batch of store `Changes` to every mounted `FarmScreen`. The screen on
top applies them at once (`apply_changes`); a screen underneath keeps them until it is
shown again, so returning to the fleet after a minute in a printer's detail updates only
what moved meanwhile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from tui.store import Changes
from tui.widgets.farm_header import FarmHeader

if TYPE_CHECKING:
    from tui.app import MakerfarmApp
    from tui.store import FleetStore


def merge(into: Changes, more: Changes) -> None:
    into.printers |= more.printers
    into.new_printers |= more.new_printers
    into.queue |= more.queue
    into.plates |= more.plates
    into.sites |= more.sites
    into.alerts |= more.alerts


class FarmScreen(Screen[None]):
    """A screen that shows part of the store and follows its changes."""

    VIEW_NAME: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        self._waiting: Changes | None = None

    def compose_header(self) -> ComposeResult:
        yield FarmHeader(self.VIEW_NAME)

    def compose_footer(self) -> ComposeResult:
        yield Footer()

    @property
    def farm_app(self) -> MakerfarmApp:
        return cast("MakerfarmApp", self.app)

    @property
    def store(self) -> FleetStore:
        return self.farm_app.store

    def on_mount(self) -> None:
        self.farm_app.farm_screens.add(self)
        self.sync()

    def on_unmount(self) -> None:
        self.farm_app.farm_screens.discard(self)

    def on_screen_resume(self) -> None:
        if self._waiting is not None:
            waiting, self._waiting = self._waiting, None
            self.apply_changes(waiting)

    def receive(self, changes: Changes) -> None:
        if self.is_current:
            self.apply_changes(changes)
        elif self._waiting is None:
            self._waiting = Changes()
            merge(self._waiting, changes)
        else:
            merge(self._waiting, changes)

    def sync(self) -> None:
        """Show the store as it is now (after mount, a site change, a new filter)."""

    def apply_changes(self, changes: Changes) -> None:
        """Show what changed; the default redraws everything this screen shows."""
        self.sync()
