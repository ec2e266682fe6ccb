"""The queue view (`2`): open jobs and their parts, by state, shop, material and due time.

Late jobs are red and at-risk jobs yellow, and they sort first; `/` searches job, shop,
reference, material and state; the line above the table counts jobs by state, parts by
material, the busiest shops and how many jobs are late or at risk. `c` cancels the
highlighted job (after asking), `r` puts its failed parts back in the queue.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.binding import Binding, BindingType

from protocol.messages.fleet import QueuedJob
from protocol.messages.staff import StaffCancelJob, StaffRequeue
from tui.formatting import JOB_STATE_STYLES, NO_VALUE, local_time, material_text
from tui.screens.dialogs import ConfirmDialog
from tui.screens.table_screen import Row, TableScreen
from tui.staff_actions import new_command
from tui.store import Changes

_PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
_FAR_FUTURE = 1e12  # sorts jobs without a due date after every dated one


def parts_text(job: QueuedJob) -> Text:
    """`3✓ 2▶ 5… 1✖ /11`: printed, printing, waiting, failed, of the quantity."""
    text = Text()
    for count, mark, style in (
        (job.parts.printed, "✓", "green"),
        (job.parts.printing, "▶", "bold green"),
        (job.parts.queued, "…", "cyan"),
        (job.parts.failed, "✖", "bold red"),
        (job.parts.cancelled, "⊘", "dim"),
    ):
        if count:
            if text:
                text.append(" ")
            text.append(f"{count}{mark}", style=style)
    text.append(f" /{job.quantity}", style="dim")
    return text


def urgency(job: QueuedJob) -> Text:
    if job.late:
        return Text(" LATE ", style="bold white on red")
    if job.at_risk:
        return Text(" risk ", style="bold black on yellow")
    return Text("")


class QueueScreen(TableScreen):
    VIEW_NAME = "queue"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "cancel_job", "Cancel job"),
        Binding("r", "requeue_job", "Requeue failed"),
    ]
    COLUMNS: ClassVar[tuple[tuple[str, int | None], ...]] = (
        ("Urgency", 7),
        ("Job", 12),
        ("Shop", 11),
        ("Reference", 12),
        ("State", 9),
        ("Material", 15),
        ("Parts", 11),
        ("Priority", 8),
        ("Due", 11),
        ("Estimate", 11),
        ("Site", 9),
    )

    def build_rows(self) -> list[Row]:
        queue = self.store.queue
        if queue is None:
            return []
        site = self.farm_app.site
        return [self._row(job) for job in queue.jobs if site is None or job.site_id in (None, site)]

    def _row(self, job: QueuedJob) -> Row:
        tz = self.store.timezone_of(job.site_id or self.farm_app.site)
        now = self.farm_app.now()
        due_style = "bold red" if job.late else "yellow" if job.at_risk else ""
        cells = (
            urgency(job),
            job.job_id,
            job.shop_id,
            job.client_ref,
            Text(job.state.value, style=JOB_STATE_STYLES[job.state]),
            material_text(job.material, job.colour),
            parts_text(job),
            job.priority.value,
            Text(local_time(job.due, tz, now), style=due_style),
            local_time(job.estimated_completion, tz, now),
            job.site_id or NO_VALUE,
        )
        due = job.due.timestamp() if job.due else None
        sort = (
            (0 if job.late else 1 if job.at_risk else 2, due or _FAR_FUTURE),
            job.job_id,
            job.shop_id,
            job.client_ref,
            job.state.value,
            (job.material, job.colour),
            -job.parts.queued,
            _PRIORITY_RANK[job.priority.value],
            due,
            job.estimated_completion.timestamp() if job.estimated_completion else None,
            job.site_id,
        )
        search = " ".join(
            (
                job.job_id,
                job.shop_id,
                job.client_ref,
                job.state.value,
                job.material,
                job.colour,
                job.priority.value,
                job.site_id or "",
                "late" if job.late else "",
                "risk" if job.at_risk else "",
            )
        )
        return Row(job.job_id, cells, sort, search, job)

    def shows(self, changes: Changes) -> bool:
        return changes.queue or bool(changes.sites)

    def summary(self) -> Text:
        queue = self.store.queue
        if queue is None:
            return Text(" no queue summary yet", style="dim")
        text = Text(" jobs: ")
        text.append(
            ", ".join(
                f"{count} {state.value}" for state, count in queue.jobs_by_state.items() if count
            )
            or "none"
        )
        shops = sorted(queue.jobs_by_shop.items(), key=lambda item: -item[1])[:4]
        if shops:
            text.append("   shops: ")
            text.append(", ".join(f"{shop} {count}" for shop, count in shops))
        text.append("   parts waiting: ")
        text.append(
            ", ".join(f"{count} {material}" for material, count in queue.parts_by_material.items())
            or "none"
        )
        text.append("   ")
        if queue.late:
            text.append(f" {queue.late} late ", style="bold white on red")
            text.append(" ")
        if queue.at_risk:
            text.append(f" {queue.at_risk} at risk ", style="bold black on yellow")
        return text

    def empty_text(self) -> str:
        return "no open jobs"

    # Actions on the highlighted job.

    def selected_job(self) -> QueuedJob | None:
        row = self.selected_row()
        return row.data if row is not None and isinstance(row.data, QueuedJob) else None

    def _site_for(self, job: QueuedJob) -> str | None:
        """The site whose staff topic carries a job command (jobs are farm-wide)."""
        site = job.site_id or self.farm_app.site
        if site is None:
            known = self.store.site_ids()
            site = known[0] if known else None
        if site is None:
            self.notify("no site is known yet to send the command through", severity="error")
        return site

    @work(exclusive=True, group="job-action")
    async def action_cancel_job(self) -> None:
        job = self.selected_job()
        site = self._site_for(job) if job is not None else None
        if job is None or site is None:
            return
        answer = await self.app.push_screen_wait(
            ConfirmDialog(
                f"Cancel job {job.job_id} ({job.shop_id} {job.client_ref})?",
                "Parts not printed yet are dropped; a printing part is skipped on its plate.",
                ask_reason=True,
                yes_label="Cancel job",
            )
        )
        if answer is not None:
            self.farm_app.send_command(
                site,
                new_command(
                    StaffCancelJob,
                    self.farm_app.staff_user,
                    job_id=job.job_id,
                    reason=answer.reason,
                ),
                f"Cancel job {job.job_id}",
                job.job_id,
            )

    def action_requeue_job(self) -> None:
        job = self.selected_job()
        if job is None:
            return
        if not job.parts.failed:
            self.notify(f"job {job.job_id} has no failed parts to requeue", severity="warning")
            return
        site = self._site_for(job)
        if site is not None:
            self.farm_app.send_command(
                site,
                new_command(StaffRequeue, self.farm_app.staff_user, job_id=job.job_id),
                f"Requeue failed parts of {job.job_id}",
                job.job_id,
            )
