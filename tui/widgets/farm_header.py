"""The line at the top of every screen: where you are, the broker link and the alert count,
and under it the most urgent alert, so nothing that needs a person hides behind a screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from protocol.messages.fleet import Alert, Severity
from tui.formatting import SEVERITY_STYLES
from tui.mqtt_worker import LinkStatus

if TYPE_CHECKING:
    from tui.app import MakerfarmApp

_SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}


def most_urgent(alerts: list[Alert]) -> Alert | None:
    if not alerts:
        return None
    return min(alerts, key=lambda a: (_SEVERITY_RANK[a.severity], -a.raised_at.timestamp()))


def header_text(view: str, site: str | None, status: LinkStatus, alerts: list[Alert]) -> Text:
    text = Text()
    text.append(" makerfarm ", style="bold reverse")
    text.append(f" {view} ", style="bold")
    text.append("· ", style="dim")
    text.append(f"site {site}" if site else "all sites")
    text.append("   ")
    if status.connected:
        text.append("● broker", style="green")
    else:
        text.append("● no broker", style="bold red")
    text.append("   ")
    critical = sum(1 for a in alerts if a.severity is Severity.CRITICAL)
    if alerts:
        style = "bold white on red" if critical else "bold black on yellow"
        text.append(f" ⚠ {len(alerts)} alert{'s' if len(alerts) != 1 else ''} ", style=style)
    else:
        text.append(" ✓ no alerts ", style="green")
    return text


def strip_text(status: LinkStatus, alerts: list[Alert]) -> Text:
    if not status.connected:
        return Text(f" ⚠ {status.message}", style="bold red")
    alert = most_urgent(alerts)
    if alert is None:
        return Text(" all printers fine", style="dim")
    text = Text(f" {alert.severity.value.upper()} ", style=SEVERITY_STYLES[alert.severity])
    text.append(f" {alert.message}")
    if len(alerts) > 1:
        text.append(f"   (+{len(alerts) - 1} more: press a)", style="dim")
    return text


class FarmHeader(Vertical):
    """Title line plus alert strip; follows the app's link status, site and alerts."""

    def __init__(self, view: str) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        yield Static(id="header-line")
        yield Static(id="alert-strip")

    def on_mount(self) -> None:
        app = self.farm_app
        self.watch(app, "link_status", self._refresh_all)
        self.watch(app, "alerts_version", self._refresh_all)
        self.watch(app, "site", self._refresh_all)

    @property
    def farm_app(self) -> MakerfarmApp:
        return cast("MakerfarmApp", self.app)

    def _refresh_all(self, _value: object = None) -> None:
        app = self.farm_app
        alerts = app.store.alerts_at(app.site)
        self.query_one("#header-line", Static).update(
            header_text(self.view, app.site, app.link_status, alerts)
        )
        strip = self.query_one("#alert-strip", Static)
        strip.update(strip_text(app.link_status, alerts))
        strip.set_class(bool(alerts) or not app.link_status.connected, "alerting")
