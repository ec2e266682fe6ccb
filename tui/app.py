"""The staff terminal UI: `MakerfarmApp`, its views, the broker worker and the refresh tick.

The app owns the `FleetStore`, the `FarmLink` to the broker (a Textual worker) and the
staff commands waiting for the controller's answer. Every `refresh_s` it takes the store's
changes and hands them to the screens, so 1,000 printers reporting once a second cost a
few table updates per tick, not a redraw per message. Views are Textual modes (fleet,
queue, plates, sites, alerts); a printer's detail opens over the fleet.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen

from protocol.base import Message
from tui.alerts import signature as alert_signature
from tui.broker import BrokerAddress
from tui.mqtt_worker import FarmLink, LinkStatus, NotConnected
from tui.palette import farm_commands
from tui.screens.alerts import AlertsScreen
from tui.screens.base import FarmScreen
from tui.screens.fleet import FleetScreen
from tui.screens.help import HelpScreen
from tui.screens.plates import PlatesScreen
from tui.screens.printer_detail import PrinterDetailScreen
from tui.screens.queue import QueueScreen
from tui.screens.site_picker import SitePicker
from tui.screens.sites import SitesScreen
from tui.staff_actions import PendingCommands, describe_reply
from tui.store import FleetStore

REFRESH_S = 0.25
NO_LINK = LinkStatus(False, "not connected to a broker")


def default_staff_user() -> str:
    try:
        name = getpass.getuser()
    except (OSError, KeyError):
        return "staff"
    cleaned = "".join(ch for ch in name if ch.isprintable())[:64]
    return cleaned or "staff"


class MakerfarmApp(App[None]):
    CSS_PATH = "makerfarm.tcss"
    TITLE = "makerfarm"
    MODES: ClassVar[dict[str, str | Callable[[], Screen[None]]]] = {
        "fleet": FleetScreen,
        "queue": QueueScreen,
        "plates": PlatesScreen,
        "sites": SitesScreen,
        "alerts": AlertsScreen,
    }
    DEFAULT_MODE = "fleet"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "switch_mode('fleet')", "Fleet"),
        Binding("2", "switch_mode('queue')", "Queue"),
        Binding("3", "switch_mode('plates')", "Plates"),
        Binding("4", "switch_mode('sites')", "Sites"),
        Binding("a", "switch_mode('alerts')", "Alerts"),
        Binding("t", "pick_site", "Site"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
    ]

    link_status: reactive[LinkStatus] = reactive(NO_LINK, always_update=True)
    site: reactive[str | None] = reactive(None)
    alerts_version: reactive[int] = reactive(0)

    def __init__(
        self,
        *,
        broker: BrokerAddress | None = None,
        site: str | None = None,
        store: FleetStore | None = None,
        staff_user: str | None = None,
        clock: Callable[[], datetime] | None = None,
        refresh_s: float = REFRESH_S,
    ) -> None:
        super().__init__()
        self.store = store or FleetStore()
        self.broker = broker
        self.staff_user = staff_user or default_staff_user()
        self.pending = PendingCommands()
        self.farm_screens: set[FarmScreen] = set()
        self.link: FarmLink | None = None
        self.on_refreshed: Callable[[], None] | None = None  # for the benchmark
        self._clock = clock
        self._refresh_s = refresh_s
        self._alerts_shown: tuple[tuple[str, str, str], ...] = ()
        self.set_reactive(MakerfarmApp.site, site)

    def now(self) -> datetime:
        return self._clock() if self._clock else datetime.now(UTC)

    def on_mount(self) -> None:
        if self.broker is not None:
            self.link = FarmLink(self.broker, self.store, self._link_changed, self.site)
            self._run_link(self.link)
        self.set_interval(self._refresh_s, self.refresh_from_store)

    @work(exclusive=True, group="mqtt", exit_on_error=False)
    async def _run_link(self, link: FarmLink) -> None:
        await link.run()

    def _link_changed(self, status: LinkStatus) -> None:
        self.link_status = status

    # The refresh tick.

    def refresh_from_store(self) -> None:
        """Hand the store's changes to every screen and show the controller's replies."""
        changes = self.store.take_changes()
        for reply in changes.replies:
            pending = self.pending.resolve(reply)
            if pending is not None:
                self.notify(
                    describe_reply(pending, reply),
                    severity="information" if reply.accepted else "error",
                    timeout=6 if reply.accepted else 12,
                )
        for overdue in self.pending.newly_overdue():
            self.notify(
                f"{overdue.description}: no answer from the controller yet (is it running?)",
                severity="warning",
            )
        if changes.alerts or changes.printers or changes.queue or changes.new_printers:
            shown = alert_signature(self.store.alerts_at(self.site))
            if shown != self._alerts_shown:
                self._alerts_shown = shown
                self.alerts_version += 1
        if changes:
            for screen in list(self.farm_screens):
                screen.receive(changes)
        if self.on_refreshed is not None:
            self.on_refreshed()

    # Site in scope.

    def watch_site(self, site: str | None) -> None:
        if self.link is not None:
            self._follow_site(site)
        self._alerts_shown = alert_signature(self.store.alerts_at(site))
        self.alerts_version += 1
        for screen in list(self.farm_screens):
            screen.sync()

    @work(exclusive=True, group="site", exit_on_error=False)
    async def _follow_site(self, site: str | None) -> None:
        if self.link is not None:
            try:
                await self.link.set_site(site)
            except Exception as exc:  # the link reconnects and subscribes anew
                self.notify(f"could not follow site {site or 'all'}: {exc}", severity="warning")

    def action_pick_site(self) -> None:
        def chosen(site: str | bool | None) -> None:
            if site is not False:
                self.site = site if isinstance(site, str) else None

        self.push_screen(SitePicker(self.store.site_ids(), self.site), chosen)

    # Screens.

    def open_printer(self, site: str, printer: str) -> None:
        if self.current_mode != "fleet":
            self.switch_mode("fleet")
        self.push_screen(PrinterDetailScreen(site, printer))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from farm_commands(self, screen)

    # Staff commands.

    def send_command(
        self, site: str, command: Message, description: str, subject: str = ""
    ) -> None:
        """Publish a staff command; its reply shows as a notification when it comes."""
        self._send(site, command, description, subject)

    @work(group="staff-commands", exit_on_error=False)
    async def _send(self, site: str, command: Message, description: str, subject: str) -> None:
        command_id = str(getattr(command, "command_id", ""))
        if self.link is None:
            self.notify(
                f"{description}: not sent, the TUI has no broker connection", severity="error"
            )
            return
        self.pending.sent(command_id, site, description, subject)
        try:
            await self.link.send(site, command)
        except NotConnected as exc:
            self.pending.forget(command_id)
            self.notify(f"{description}: {exc}", severity="error", timeout=10)
            return
        self.notify(f"{description}: sent, waiting for the controller", timeout=3)
