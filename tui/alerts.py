"""The alerts staff see: the controller's alert list, completed from what the TUI knows.

The controller's `fleet/alerts` is the first word. A printer in error, waiting for an
operator or offline (after it was once online), and a late job in the queue summary, are
alerts too even when the controller has not raised one for them (it raises offline only for
a printer that was printing, and late jobs live in the queue summary): the TUI adds those,
so every screen counts everything that needs a person. Printers in maintenance raise
nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from protocol.messages.fleet import Alert, QueueSummary, Severity
from protocol.messages.printer import PrinterStatus

if TYPE_CHECKING:
    from tui.store import PrinterView

_PRINTER_ALERTS: dict[PrinterStatus, tuple[Severity, str]] = {
    PrinterStatus.ERROR: (Severity.CRITICAL, "reports an error"),
    PrinterStatus.NEEDS_OPERATOR: (Severity.WARNING, "needs an operator"),
    PrinterStatus.OFFLINE: (Severity.WARNING, "is offline"),
}
_SINCE_EVER = datetime(2000, 1, 1, tzinfo=UTC)


def open_alerts(
    controller_alerts: Iterable[Alert],
    printers: Iterable[PrinterView],
    queue: QueueSummary | None,
    site: str | None,
) -> list[Alert]:
    """The controller's alerts for `site` (None: all) plus the ones it has not raised."""
    alerts = [a for a in controller_alerts if site is None or a.site_id in (None, site)]
    printers_alerted = {a.printer_id for a in alerts if a.printer_id}
    jobs_alerted = {a.job_id for a in alerts if a.job_id}
    for view in printers:
        if view.printer_id not in printers_alerted and _in_trouble(view):
            alerts.append(_printer_alert(view))
    if queue is not None:
        for job in queue.jobs:
            if (
                job.late
                and job.job_id not in jobs_alerted
                and (site is None or job.site_id in (None, site))
            ):
                due = f"was due {job.due:%Y-%m-%d %H:%M} UTC" if job.due else "is late"
                alerts.append(
                    Alert(
                        alert_id=f"tui-late-{job.job_id}"[:64],
                        severity=Severity.WARNING,
                        message=f"job {job.job_id} ({job.shop_id} {job.client_ref}) {due}",
                        site_id=job.site_id,
                        job_id=job.job_id,
                        raised_at=job.due or queue.updated_at,
                    )
                )
    return alerts


def _in_trouble(view: PrinterView) -> bool:
    """In error, waiting for an operator, or gone offline after being online (a printer
    whose agent never connected is being set up, not lost)."""
    if view.state is PrinterStatus.OFFLINE:
        return view.last_seen_at is not None
    return view.state in _PRINTER_ALERTS


def _printer_alert(view: PrinterView) -> Alert:
    severity, what = _PRINTER_ALERTS[view.state]
    detail = f": {view.error}" if view.error else ""
    since = view.as_of
    if view.state is PrinterStatus.OFFLINE:
        detail, since = "", view.last_seen_at  # raised when it was last heard
    return Alert(
        alert_id=f"tui-printer-{view.printer_id}"[:64],
        severity=severity,
        message=f"printer {view.printer_id} {what}{detail}"[:500],
        site_id=view.site_id,
        printer_id=view.printer_id,
        raised_at=since or _SINCE_EVER,
    )


def signature(alerts: Iterable[Alert]) -> tuple[tuple[str, str, str], ...]:
    """What the header and the alerts list show of the alerts: a change means redraw."""
    return tuple(sorted((a.alert_id, a.severity.value, a.message) for a in alerts))
