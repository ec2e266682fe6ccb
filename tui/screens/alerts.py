"""The alerts view (`a`): printers needing an operator, errors, offline printers, late jobs.

The header of every screen counts the same alerts; this view lists them, most severe and
newest first. Enter on a printer's alert opens that printer.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text

from protocol.messages.fleet import Alert, Severity
from tui.alerts import signature
from tui.formatting import NO_VALUE, SEVERITY_STYLES, local_time
from tui.screens.table_screen import Row, TableScreen
from tui.store import Changes

_RANK = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}


class AlertsScreen(TableScreen):
    VIEW_NAME = "alerts"
    _shown: tuple[tuple[str, str, str], ...] = ()
    COLUMNS: ClassVar[tuple[tuple[str, int | None], ...]] = (
        ("Severity", 10),
        ("Raised", 14),
        ("Site", 12),
        ("Printer", 14),
        ("Job", 14),
        ("Message", None),
    )

    def build_rows(self) -> list[Row]:
        alerts = self.store.alerts_at(self.farm_app.site)
        self._shown = signature(alerts)
        return [self._row(alert) for alert in alerts]

    def shows(self, changes: Changes) -> bool:
        return signature(self.store.alerts_at(self.farm_app.site)) != self._shown

    def _row(self, alert: Alert) -> Row:
        tz = self.store.timezone_of(alert.site_id)
        cells = (
            Text(f" {alert.severity.value} ", style=SEVERITY_STYLES[alert.severity]),
            local_time(alert.raised_at, tz, self.farm_app.now()),
            alert.site_id or NO_VALUE,
            alert.printer_id or NO_VALUE,
            alert.job_id or NO_VALUE,
            alert.message,
        )
        sort = (
            (_RANK[alert.severity], -alert.raised_at.timestamp()),
            -alert.raised_at.timestamp(),
            alert.site_id,
            alert.printer_id,
            alert.job_id,
            alert.message,
        )
        search = " ".join(
            str(c)
            for c in (
                alert.severity.value,
                alert.site_id,
                alert.printer_id,
                alert.job_id,
                alert.message,
            )
        )
        return Row(alert.alert_id, cells, sort, search, alert)

    def summary(self) -> Text:
        alerts = self.store.alerts_at(self.farm_app.site)
        text = Text()
        for severity in (Severity.CRITICAL, Severity.WARNING, Severity.INFO):
            count = sum(1 for a in alerts if a.severity is severity)
            if count:
                text.append(f" {count} {severity.value} ", style=SEVERITY_STYLES[severity])
                text.append(" ")
        return text or Text(" no open alerts", style="green")

    def empty_text(self) -> str:
        return "no open alerts"

    def row_chosen(self, row: Row) -> None:
        alert = row.data
        if isinstance(alert, Alert) and alert.printer_id and alert.site_id:
            self.farm_app.open_printer(alert.site_id, alert.printer_id)
