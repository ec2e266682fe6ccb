"""One printer up close (Enter in the fleet): temperatures, its plate, events and actions.

The left column says what the printer is doing and draws its nozzle and bed temperature
history as sparklines; the right shows the plate on it with each part's job and shop, the
recent events and errors, and the actions taken from here with the controller's answers.
Each action in `PRINTER_ACTIONS` has a key; destructive ones ask first.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Label, Sparkline, Static

from protocol.base import Message
from protocol.messages.fleet import PlateSummary
from protocol.messages.staff import (
    StaffBedCleared,
    StaffCancelPart,
    StaffCancelPlate,
    StaffMaintenanceOff,
    StaffMaintenanceOn,
    StaffPartFailed,
    StaffPartPassed,
    StaffPause,
    StaffResume,
    StaffSpoolLoaded,
)
from protocol.states import PartState
from tui.formatting import NO_VALUE, PART_STATE_STYLES
from tui.printer_panels import actions_text, events_text, info_table
from tui.screens.base import FarmScreen
from tui.screens.dialogs import ConfirmDialog, PartPicker, SpoolDialog
from tui.staff_actions import ACTIONS_BY_NAME, PRINTER_ACTIONS, new_command
from tui.store import Changes, PrinterView
from tui.widgets.farm_header import FarmHeader

_CANCELLABLE = frozenset({PartState.PLANNED, PartState.PRINTING, PartState.QUEUED})


class PrinterDetailScreen(FarmScreen):
    VIEW_NAME = "printer"
    AUTO_FOCUS = "#plate-parts"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        *(Binding(a.key, a.name, a.short, tooltip=a.title) for a in PRINTER_ACTIONS),
    ]

    def __init__(self, site: str, printer: str) -> None:
        super().__init__()
        self.site_id = site
        self.printer_id = printer

    def compose(self) -> ComposeResult:
        yield FarmHeader(f"printer {self.printer_id}")
        with Horizontal(id="detail"):
            with Vertical(id="detail-left"):
                yield Static(id="printer-info", classes="panel")
                with Vertical(id="temperatures", classes="panel"):
                    yield Label("", id="nozzle-label")
                    yield Sparkline([], id="nozzle-history")
                    yield Label("", id="bed-label")
                    yield Sparkline([], id="bed-history")
            with Vertical(id="detail-right"):
                parts: DataTable[Text | str] = DataTable(id="plate-parts", cursor_type="row")
                parts.add_columns("Part", "Job", "Shop", "Reference", "State")
                yield parts
                with VerticalScroll(id="events", classes="panel"):
                    yield Static(id="events-text")
                with VerticalScroll(id="actions", classes="panel"):
                    yield Static(id="actions-text")
        yield from self.compose_footer()

    @property
    def view(self) -> PrinterView | None:
        return self.store.printers.get((self.site_id, self.printer_id))

    def plate(self) -> PlateSummary | None:
        view = self.view
        return self.store.plate(view.plate_id if view else None)

    # Showing the store.

    def apply_changes(self, changes: Changes) -> None:
        if (
            (self.site_id, self.printer_id) in changes.printers
            or self.site_id in changes.plates
            or changes.queue
            or changes.alerts
            or changes.replies
        ):
            self.sync()

    def sync(self) -> None:
        view = self.view
        tz = self.store.timezone_of(self.site_id)
        now = self.farm_app.now()
        info = self.query_one("#printer-info", Static)
        info.border_title = f"printer {self.printer_id}"
        if view is None:
            info.update(Text(f"no word from printer {self.printer_id} yet", style="dim"))
        else:
            info.update(info_table(view, tz, now))
            self._show_temperatures(view)
        self._show_plate()
        alerts = [a for a in self.store.alerts_at(self.site_id) if a.printer_id == self.printer_id]
        events = self.query_one("#events", VerticalScroll)
        events.border_title = "recent events and errors"
        self.query_one("#events-text", Static).update(
            events_text(view.events if view else (), alerts, tz, now)
        )
        self.query_one("#actions", VerticalScroll).border_title = "actions from this terminal"
        answered = [
            (p, r) for p, r in self.farm_app.pending.answered if p.subject == self.printer_id
        ]
        self.query_one("#actions-text", Static).update(
            actions_text(self.farm_app.pending.waiting_for(self.printer_id), answered, tz, now)
        )

    def _show_temperatures(self, view: PrinterView) -> None:
        def label(name: str, current: float | None, target: float | None) -> str:
            if current is None:
                return f"{name} {NO_VALUE}"
            aim = f" → {target:.0f}°C" if target else " (off)"
            return f"{name} {current:.1f}°C{aim}"

        self.query_one("#nozzle-label", Label).update(
            label("nozzle", view.nozzle_c, view.nozzle_target_c)
        )
        self.query_one("#bed-label", Label).update(label("bed", view.bed_c, view.bed_target_c))
        self.query_one("#nozzle-history", Sparkline).data = list(view.nozzle_history)
        self.query_one("#bed-history", Sparkline).data = list(view.bed_history)
        self.query_one(
            "#temperatures"
        ).border_title = (
            f"temperatures, last {max(len(view.nozzle_history), len(view.bed_history))} samples"
        )

    def _show_plate(self) -> None:
        table = self.query_one("#plate-parts", DataTable)
        table.clear()
        plate = self.plate()
        view = self.view
        if plate is None:
            table.border_title = (
                f"plate {view.plate_id}: parts not known yet"
                if view and view.plate_id
                else "no plate on this printer"
            )
            return
        table.border_title = (
            f"plate {plate.plate_id} · {plate.material} {plate.colour} · {len(plate.parts)} parts"
        )
        shops = self.store.shops_by_job()
        for part in plate.parts:
            job = self.store.job(part.job_id)
            table.add_row(
                part.part_id,
                part.job_id,
                shops.get(part.job_id, NO_VALUE),
                job.client_ref if job else NO_VALUE,
                Text(part.state.value, style=PART_STATE_STYLES[part.state]),
                key=part.part_id,
            )

    # Actions.

    def action_back(self) -> None:
        self.dismiss(None)

    def _send(self, name: str, command: Message) -> None:
        action = ACTIONS_BY_NAME[name]
        self.farm_app.send_command(
            self.site_id, command, f"{action.title} on {self.printer_id}", self.printer_id
        )
        self.sync()

    def _user(self) -> str:
        return self.farm_app.staff_user

    def _plate_or_say_why(self) -> PlateSummary | str | None:
        view = self.view
        if view is None or view.plate_id is None:
            self.notify(f"{self.printer_id} has no plate", severity="warning")
            return None
        return self.plate() or view.plate_id

    @work(exclusive=True, group="printer-action")
    async def action_bed_cleared(self) -> None:
        answer = await self.app.push_screen_wait(
            ConfirmDialog(
                f"Is the bed of {self.printer_id} empty and clean?",
                "The printer starts its next plate on it as soon as the controller sends one.",
                yes_label="Bed is clear",
            )
        )
        if answer is not None:
            self._send(
                "bed_cleared",
                new_command(StaffBedCleared, self._user(), printer_id=self.printer_id),
            )

    @work(exclusive=True, group="printer-action")
    async def action_spool_loaded(self) -> None:
        material, colour = self._spool_guess()
        spool = await self.app.push_screen_wait(SpoolDialog(self.printer_id, material, colour))
        if spool is not None:
            self._send(
                "spool_loaded",
                new_command(
                    StaffSpoolLoaded,
                    self._user(),
                    printer_id=self.printer_id,
                    material=spool.material,
                    colour=spool.colour,
                    grams=spool.grams,
                ),
            )

    def _spool_guess(self) -> tuple[str, str]:
        """The spool the site summary says this printer needs next, else the loaded one."""
        site = self.store.sites.get(self.site_id)
        if site is not None:
            for need in site.materials_needed_next:
                if need.printer_id == self.printer_id:
                    return need.material, need.colour
        view = self.view
        return (view.material or "", view.colour or "") if view else ("", "")

    def action_pause(self) -> None:
        self._send("pause", new_command(StaffPause, self._user(), printer_id=self.printer_id))

    def action_resume(self) -> None:
        self._send("resume", new_command(StaffResume, self._user(), printer_id=self.printer_id))

    @work(exclusive=True, group="printer-action")
    async def action_cancel_plate(self) -> None:
        plate = self._plate_or_say_why()
        if plate is None:
            return
        plate_id = plate if isinstance(plate, str) else plate.plate_id
        answer = await self.app.push_screen_wait(
            ConfirmDialog(
                f"Cancel plate {plate_id} on {self.printer_id}?",
                "The printer stops; parts not printed yet go back in the queue.",
                ask_reason=True,
                yes_label="Cancel plate",
            )
        )
        if answer is not None:
            self._send(
                "cancel_plate",
                new_command(
                    StaffCancelPlate, self._user(), plate_id=plate_id, reason=answer.reason
                ),
            )

    @work(exclusive=True, group="printer-action")
    async def action_cancel_part(self) -> None:
        plate = self._plate_with_parts()
        if plate is None:
            return
        live = plate.model_copy(
            update={"parts": tuple(p for p in plate.parts if p.state in _CANCELLABLE)}
        )
        chosen = await self.app.push_screen_wait(
            PartPicker(
                f"Cancel which part of {plate.plate_id}?",
                live,
                self.store.shops_by_job(),
                single=True,
            )
        )
        if not chosen:
            return
        answer = await self.app.push_screen_wait(
            ConfirmDialog(
                f"Cancel part {chosen[0]} on {plate.plate_id}?",
                "The printer skips this object; its neighbours go on printing.",
                ask_reason=True,
                yes_label="Cancel part",
            )
        )
        if answer is not None:
            self._send(
                "cancel_part",
                new_command(
                    StaffCancelPart,
                    self._user(),
                    plate_id=plate.plate_id,
                    part_id=chosen[0],
                    reason=answer.reason,
                ),
            )

    @work(exclusive=True, group="printer-action")
    async def action_fail_parts(self) -> None:
        plate = self._plate_with_parts()
        if plate is None:
            return
        chosen = await self.app.push_screen_wait(
            PartPicker(
                f"Which parts of {plate.plate_id} failed inspection?",
                plate,
                self.store.shops_by_job(),
            )
        )
        if not chosen:
            return
        answer = await self.app.push_screen_wait(
            ConfirmDialog(
                f"Fail {len(chosen)} part{'s' if len(chosen) > 1 else ''} of {plate.plate_id}?",
                "They go back in the queue and are printed again.",
                ask_reason=True,
                yes_label="Fail parts",
            )
        )
        if answer is not None:
            self._send(
                "fail_parts",
                new_command(
                    StaffPartFailed,
                    self._user(),
                    plate_id=plate.plate_id,
                    part_ids=tuple(chosen),
                    reason=answer.reason,
                ),
            )

    @work(exclusive=True, group="printer-action")
    async def action_pass_parts(self) -> None:
        plate = self._plate_with_parts()
        if plate is None:
            return
        chosen = await self.app.push_screen_wait(
            PartPicker(
                f"Which parts of {plate.plate_id} passed inspection?",
                plate,
                self.store.shops_by_job(),
            )
        )
        if chosen:
            self._send(
                "pass_parts",
                new_command(
                    StaffPartPassed, self._user(), plate_id=plate.plate_id, part_ids=tuple(chosen)
                ),
            )

    def _plate_with_parts(self) -> PlateSummary | None:
        plate = self._plate_or_say_why()
        if isinstance(plate, str):
            self.notify(
                f"the parts of plate {plate} are not known yet (no plate summary)",
                severity="warning",
            )
            return None
        return plate

    @work(exclusive=True, group="printer-action")
    async def action_maintenance_on(self) -> None:
        answer = await self.app.push_screen_wait(
            ConfirmDialog(
                f"Take {self.printer_id} out of service?",
                "No new plates are sent to it until maintenance is switched off.",
                ask_reason=True,
                yes_label="Maintenance on",
            )
        )
        if answer is not None:
            self._send(
                "maintenance_on",
                new_command(
                    StaffMaintenanceOn,
                    self._user(),
                    printer_id=self.printer_id,
                    reason=answer.reason,
                ),
            )

    def action_maintenance_off(self) -> None:
        self._send(
            "maintenance_off",
            new_command(StaffMaintenanceOff, self._user(), printer_id=self.printer_id),
        )
