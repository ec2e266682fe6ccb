"""Which controller leads, when several share one PostgreSQL database and one broker.

With `--shared-group` every controller handles the messages the broker gives it (states,
submits, cancels, staff commands: split; events: each controller gets all, see
`controller.scale_out`) and dispatches plates (claims are row-level, `lifecycle/plates.py`).
The work that must happen once for the whole farm runs on the leader only: re-planning,
slicing, resending unacknowledged plates, the offline-grace timer, the full fleet summaries
and the re-announcement of job statuses at take-over.

The leader is whoever holds a PostgreSQL session advisory lock (`LEADER_LOCK`) on its own
connection. The others try to take it every `CHECK_S`. A leader that dies (even `kill -9`)
loses its connection and with it the lock, so another controller takes over within about a
second; a leader that loses its database connection steps down at once. TCP keepalives on
that connection bound how long a leader on a dead machine keeps the lock.

The same connection carries the controllers' wake-ups: after a commit that should make the
re-planner, slicer, dispatcher or fleet summaries look again, the controller NOTIFYs the
others (`CHANNEL`, at most once per `NOTIFY_EVERY_S`), and each one that hears it pokes its
own components. A leader that is slow to notice it lost the lock overlaps the new one for at
most `CHECK_S`; recording a plan also takes a transaction-level lock (`plan_fence`), so two
plans are never written at the same time.

`SoloLeadership` is the single-controller case: always the leader, no database connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import psycopg
from sqlalchemy import text
from sqlmodel import Session

from controller.component import Component
from controller.db import normalise_url
from controller.logs import log

_logger = logging.getLogger(__name__)

LEADER_LOCK = 0x6D616B6572_01  # "maker" + 1: the advisory lock whose holder leads
PLAN_LOCK = 0x6D616B6572_02  # held while a plan is recorded
MIGRATE_LOCK = 0x6D616B6572_03  # held while the schema is migrated at start
CHANNEL = "makerfarm_wake"
CHECK_S = 1.0
NOTIFY_EVERY_S = 0.05
KINDS = ("replan", "slice", "dispatch", "fleet")

LeaderWork = Callable[[], Coroutine[Any, Any, Any]]


def plan_fence(session: Session) -> None:
    """Inside a plan's transaction: wait until no other controller records a plan."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PLAN_LOCK})


class Leadership(Component):
    """Leader election and wake-ups between controllers (see the module docstring)."""

    name = "leadership"

    def __init__(self, database_url: str, controller_id: str) -> None:
        super().__init__()
        url = normalise_url(database_url).set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)
        self._id = controller_id
        self._leader = asyncio.Event()
        self._deposed = asyncio.Event()
        self._deposed.set()
        self._pending: set[str] = set()
        self._pending_event = asyncio.Event()
        self._wake_handlers: list[Callable[[set[str]], None]] = []
        self.terms = 0  # how often this controller became the leader
        self.wakeups_heard = 0

    @property
    def is_leader(self) -> bool:
        return self._leader.is_set()

    def on_wake(self, handler: Callable[[set[str]], None]) -> None:
        """`handler(kinds)` runs when another controller committed changes of those kinds."""
        self._wake_handlers.append(handler)

    def notify(self, kinds: set[str]) -> None:
        """Tell the other controllers (soon, coalesced) that changes of `kinds` committed."""
        if kinds:
            self._pending |= kinds
            self._pending_event.set()

    async def start(self) -> None:
        self.spawn(self._election_loop, "election", restart=True)
        self.spawn(self._notify_loop, "notify", restart=True)

    async def close(self) -> None:
        self._step_down("closing")
        await super().close()

    async def while_leader(self, work: LeaderWork) -> None:
        """Run `work()` each time this controller becomes the leader; cancel it when it
        stops leading. Work that ends on its own is not run again until the next term."""
        loop = asyncio.get_running_loop()
        while True:
            await self._leader.wait()
            task = loop.create_task(work())
            deposed = loop.create_task(self._deposed.wait())
            try:
                await asyncio.wait({task, deposed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                deposed.cancel()
                if not task.done():
                    task.cancel()
                await asyncio.gather(task, deposed, return_exceptions=True)
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
            await self._deposed.wait()

    # --- election -------------------------------------------------------------------------

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(
            self._conninfo,
            autocommit=True,
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=3,
            connect_timeout=10,
        )

    async def _election_loop(self) -> None:
        while True:
            try:
                connection = await self._connect()
            except psycopg.Error as exc:
                log(_logger, logging.WARNING, "leader election: no database", error=str(exc))
                await asyncio.sleep(CHECK_S)
                continue
            try:
                async with connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    await self._hold_or_wait(connection)
            except psycopg.Error as exc:
                log(
                    _logger,
                    logging.WARNING,
                    "leader election: database connection lost",
                    error=str(exc),
                )
            finally:
                self._step_down("database connection lost")
            await asyncio.sleep(CHECK_S)

    async def _hold_or_wait(self, connection: psycopg.AsyncConnection[Any]) -> None:
        while True:
            if not self.is_leader:
                cursor = await connection.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK,))
                row = await cursor.fetchone()
                if row is not None and row[0]:
                    self._elect()
            else:
                await connection.execute("SELECT 1")  # the lock lives as long as this does
            async for notice in connection.notifies(timeout=CHECK_S):
                self._heard(notice.payload)

    def _elect(self) -> None:
        self.terms += 1
        self._deposed.clear()
        self._leader.set()
        log(_logger, logging.INFO, "this controller is now the leader", controller=self._id)

    def _step_down(self, why: str) -> None:
        if self.is_leader:
            log(_logger, logging.WARNING, "this controller stopped leading", why=why)
        self._leader.clear()
        self._deposed.set()

    # --- wake-ups -------------------------------------------------------------------------

    def _heard(self, payload: str) -> None:
        sender, _, text_kinds = payload.partition("|")
        if sender == self._id:
            return
        kinds = {kind for kind in text_kinds.split(",") if kind in KINDS}
        if not kinds:
            return
        self.wakeups_heard += 1
        for handler in self._wake_handlers:
            handler(kinds)

    async def _notify_loop(self) -> None:
        connection: psycopg.AsyncConnection[Any] | None = None
        try:
            while True:
                await self._pending_event.wait()
                self._pending_event.clear()
                kinds, self._pending = self._pending, set()
                payload = f"{self._id}|{','.join(sorted(kinds))}"
                try:
                    if connection is None or connection.closed:
                        connection = await self._connect()
                    await connection.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
                except psycopg.Error as exc:
                    log(_logger, logging.WARNING, "wake-up not sent", error=str(exc))
                    connection = None
                await asyncio.sleep(NOTIFY_EVERY_S)
        finally:
            if connection is not None:
                await connection.close()


class SoloLeadership:
    """The only controller: always the leader, nobody to wake."""

    is_leader = True
    terms = 1

    def on_wake(self, handler: Callable[[set[str]], None]) -> None:
        return None

    def notify(self, kinds: set[str]) -> None:
        return None

    async def while_leader(self, work: LeaderWork) -> None:
        await work()
