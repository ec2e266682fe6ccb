"""Follow many jobs at once, the way shops do: their retained status topics.

Used by the demo, the end-to-end test and the benchmark. `JobTracker` keeps every status
each job went through, in arrival order (so a test can check the order) and when each
arrived (so the benchmark can measure latencies); `submit_job` uploads a job's mesh and
submits it through a `ShopLink`.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from types import TracebackType

from controller.demo_farm import DemoJob
from controller.shop_link import ShopLink
from protocol import topics
from protocol.codec import encode
from protocol.messages.jobs import JobStatus, JobSubmit, MeshFormat, Rejection, ShipTo
from protocol.states import FINAL_JOB_STATES


def submit_job(link: ShopLink, job: DemoJob, mesh: bytes) -> JobSubmit:
    submit = JobSubmit(
        client_ref=job.client_ref,
        mesh_sha256=hashlib.sha256(mesh).hexdigest(),
        mesh_format=MeshFormat.STL,
        material=job.material,
        colour=job.colour,
        quantity=job.quantity,
        ship_to=ShipTo(lat=job.ship_to[0], lon=job.ship_to[1]),
    )
    link.publish(topics.mesh_topic(job.shop, submit.mesh_sha256), mesh)
    link.publish(topics.job_submit_topic(job.shop), encode(submit))
    return submit


class JobTracker:
    """Every status of every job of every shop, as they arrive; a context manager."""

    def __init__(self, broker_url: str) -> None:
        self._link = ShopLink(broker_url, None)
        self._link.listeners.append(self._on_message)
        self._changed = threading.Condition()
        self.history: dict[str, list[JobStatus]] = defaultdict(list)
        self.arrived_at: dict[str, list[float]] = defaultdict(list)
        self.rejections: dict[str, Rejection] = {}

    def __enter__(self) -> JobTracker:
        self._link.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._link.__exit__(exc_type, exc, tb)

    def _on_message(self, topic: str, message: JobStatus | Rejection) -> None:
        with self._changed:
            if isinstance(message, Rejection):
                if message.client_ref:
                    self.rejections[message.client_ref] = message
            else:
                self.history[message.client_ref].append(message)
                self.arrived_at[message.client_ref].append(time.monotonic())
            self._changed.notify_all()

    def latest(self, client_ref: str) -> JobStatus | None:
        with self._changed:
            history = self.history.get(client_ref)
            return history[-1] if history else None

    def state_of(self, client_ref: str) -> str:
        if client_ref in self.rejections:
            return "refused"
        status = self.latest(client_ref)
        return status.state.value if status else "submitted"

    def all_final(self, refs: list[str]) -> bool:
        return all(
            self.state_of(ref) in FINAL_JOB_STATES or self.state_of(ref) == "refused"
            for ref in refs
        )

    def part_totals(self, refs: list[str]) -> dict[str, int]:
        totals = {"total": 0, "printed": 0, "printing": 0, "failed": 0}
        for ref in refs:
            status = self.latest(ref)
            if status is None:
                continue
            totals["total"] += status.parts.total
            totals["printed"] += status.parts.printed
            totals["printing"] += status.parts.printing
            totals["failed"] += status.parts.failed
        return totals

    def stuck(self, refs: list[str]) -> list[str]:
        lines = []
        for ref in refs:
            status = self.latest(ref)
            if ref in self.rejections:
                lines.append(f"{ref}: refused: {self.rejections[ref].reason}")
            elif status is None:
                lines.append(f"{ref}: no status (never accepted)")
            elif status.state.value != "done":
                parts = status.parts
                lines.append(
                    f"{ref} (job {status.job_id}): {status.state.value}, "
                    f"{parts.printed}/{parts.total} printed, {parts.printing} "
                    f"printing, {parts.queued} queued {status.reason}".rstrip()
                )
        return lines

    def wait_for(self, condition: Callable[[], bool], timeout_s: float) -> bool:
        """Wait (bounded) until `condition()` holds; it is checked on every new status."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True
