"""The questions an action asks before it is sent: confirm (with an optional reason), which
spool was loaded, and which parts of a plate.

Each is a modal screen that dismisses with the answer, or with None when staff press
Escape or Cancel, in which case nothing is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, SelectionList, Static
from textual.widgets.selection_list import Selection

from protocol.messages.fleet import PlateSummary
from tui.formatting import PART_STATE_STYLES


@dataclass(frozen=True)
class Confirmed:
    reason: str = ""


class ConfirmDialog(ModalScreen[Confirmed | None]):
    """ "Cancel plate p-17 on mk4-03?" with Yes / No, and a reason box when asked for."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, question: str, detail: str = "", ask_reason: bool = False, yes_label: str = "Yes"
    ) -> None:
        super().__init__()
        self.question = question
        self.detail = detail
        self.ask_reason = ask_reason
        self.yes_label = yes_label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-title")
            if self.detail:
                yield Static(Text(self.detail, style="dim"))
            if self.ask_reason:
                yield Input(placeholder="reason (optional, kept in the event log)", id="reason")
            with Horizontal(classes="buttons"):
                yield Button(self.yes_label, variant="error", id="yes")
                yield Button("No", id="no")

    def on_mount(self) -> None:
        if self.ask_reason:
            self.query_one("#reason", Input).focus()
        else:
            self.query_one("#no", Button).focus()

    def _reason(self) -> str:
        return self.query_one("#reason", Input).value.strip() if self.ask_reason else ""

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.dismiss(Confirmed(self._reason()))

    @on(Input.Submitted, "#reason")
    def _reason_done(self) -> None:
        self.query_one("#yes", Button).focus()

    @on(Button.Pressed, "#no")
    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class Spool:
    material: str
    colour: str
    grams: int | None


class SpoolDialog(ModalScreen[Spool | None]):
    """Which spool is on the printer now: material, colour and (optionally) grams."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, printer: str, material: str = "", colour: str = "") -> None:
        super().__init__()
        self.printer = printer
        self.material = material
        self.colour = colour

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Spool loaded on {self.printer}", classes="dialog-title")
            yield Input(self.material, placeholder="material, e.g. PLA, PETG", id="material")
            yield Input(self.colour, placeholder="colour, e.g. black or #ff8800", id="colour")
            yield Input(placeholder="grams on the spool (optional)", id="grams", type="integer")
            yield Static(id="spool-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Loaded", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#material", Input).focus()

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        if event.input.id == "grams":
            self._ok()
        else:
            self.focus_next()

    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        material = self.query_one("#material", Input).value.strip().upper()
        colour = self.query_one("#colour", Input).value.strip().lower()
        grams_text = self.query_one("#grams", Input).value.strip()
        problem = spool_problem(material, colour, grams_text)
        if problem:
            self.query_one("#spool-error", Static).update(Text(problem, style="bold red"))
            return
        self.dismiss(Spool(material, colour, int(grams_text) if grams_text else None))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def spool_problem(material: str, colour: str, grams: str) -> str:
    """What is wrong with the spool's fields, in words, or "" when they can be sent."""
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9+_-]{0,15}", material):
        return "material: 1-16 letters, digits, + _ or -, like PLA, PETG or PA-CF"
    if not re.fullmatch(r"[a-z0-9#][a-z0-9# _-]{0,31}", colour):
        return "colour: a name like black or a code like #ff8800 (up to 32 characters)"
    if grams and not (grams.isdigit() and int(grams) <= 100_000):
        return "grams: a whole number up to 100000, or leave it empty"
    return ""


class PartPicker(ModalScreen[list[str] | None]):
    """Choose parts of a plate (one, or several with the space bar)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+a", "select_all", "All parts"),
        Binding("ctrl+s", "send", "Send"),
    ]

    def __init__(
        self, title: str, plate: PlateSummary, shop_of: dict[str, str], single: bool = False
    ) -> None:
        super().__init__()
        self.title_text = title
        self.plate = plate
        self.shop_of = shop_of
        self.single = single

    def compose(self) -> ComposeResult:
        selections = []
        for part in self.plate.parts:
            label = Text(f"{part.part_id}  ")
            label.append(part.job_id, style="bold")
            shop = self.shop_of.get(part.job_id)
            if shop:
                label.append(f" ({shop})", style="dim")
            label.append(f"  {part.state.value}", style=PART_STATE_STYLES[part.state])
            selections.append(Selection(label, part.part_id))
        hint = (
            "space marks the part; ctrl+s sends"
            if self.single
            else "space marks parts, ctrl+a marks all; ctrl+s sends"
        )
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(Text(hint, style="dim"))
            yield SelectionList[str](*selections, id="parts")
            yield Static(id="parts-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Send", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#parts", SelectionList).focus()

    @on(SelectionList.SelectedChanged, "#parts")
    def _one_at_a_time(self, event: SelectionList.SelectedChanged[str]) -> None:
        chosen = event.selection_list.selected
        if self.single and len(chosen) > 1:
            keep = chosen[-1]
            event.selection_list.deselect_all()
            event.selection_list.select(keep)

    @on(Button.Pressed, "#ok")
    def action_send(self) -> None:
        chosen = list(self.query_one("#parts", SelectionList).selected)
        if not chosen:
            self.query_one("#parts-error", Static).update(
                Text("mark at least one part with the space bar", style="bold red")
            )
            return
        self.dismiss([str(part) for part in chosen])

    def action_select_all(self) -> None:
        if not self.single:
            self.query_one("#parts", SelectionList).select_all()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
