"""Choose the site the TUI follows (`t`): one makerspace, or all of them."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

ALL_SITES = "*all*"


class SitePicker(ModalScreen[str | bool | None]):
    """Dismisses with a site id, None for all sites, or False when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, sites: list[str], current: str | None) -> None:
        super().__init__()
        self.sites = sites
        self.current = current

    def compose(self) -> ComposeResult:
        options = [Option("All sites", id=ALL_SITES)]
        options += [Option(site, id=site) for site in self.sites]
        with Vertical(classes="dialog"):
            yield Label("Follow which site?", classes="dialog-title")
            yield OptionList(*options, id="site-options")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        wanted = self.current or ALL_SITES
        for index in range(options.option_count):
            if options.get_option_at_index(index).id == wanted:
                options.highlighted = index

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        chosen = event.option.id
        self.dismiss(None if chosen == ALL_SITES else chosen)

    def action_cancel(self) -> None:
        self.dismiss(False)
