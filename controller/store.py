"""The service's door to the database: one transaction per call, off the event loop.

`await store.run(fn, *args)` runs `fn(session, *args)` in the store's own thread inside one
unit of work (commit on success, rollback on any exception) and returns its result. One
thread means the service's transactions never interleave, which is what SQLite wants and
keeps PostgreSQL free of lock waits between our own components; the work per transaction
is small, so it is not the bottleneck (the mesh checks, planning and slicing run in worker
processes).

With a shared group (several controllers on one PostgreSQL database) the other controllers'
transactions do interleave with ours: transactions then run at REPEATABLE READ, so a row
another controller changed since our snapshot cannot be overwritten from a stale read (the
database refuses with a serialization failure), and a transaction refused that way, caught in
a deadlock, or beaten to a unique key (two controllers recording the same event or job) is
run again from the start, up to `RETRY_ATTEMPTS` times; the second run reads what the other
controller committed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from controller.component import Component
from controller.config import ControllerSettings
from controller.db import create_engine_for, migrate, normalise_url, unit_of_work
from controller.leadership import MIGRATE_LOCK
from controller.logs import log

T = TypeVar("T")
_logger = logging.getLogger(__name__)
RETRY_ATTEMPTS = 8
# serialization_failure, deadlock_detected, unique_violation
RETRY_SQLSTATES = frozenset({"40001", "40P01", "23505"})


def is_conflict(error: BaseException) -> bool:
    """A PostgreSQL error another controller's concurrent transaction caused."""
    if not isinstance(error, DBAPIError):
        return False
    return getattr(error.orig, "sqlstate", None) in RETRY_SQLSTATES


class Store(Component):
    name = "store"

    def __init__(self, settings: ControllerSettings) -> None:
        super().__init__()
        self._url = settings.database_url
        self._shared = settings.shared_group is not None
        self._engine: Engine | None = None
        self.conflicts_retried = 0
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        # operation name -> (calls, seconds): where the database time goes (logged at close)
        self.seconds_by_operation: dict[str, tuple[int, float]] = {}

    @property
    def safe_url(self) -> str:
        """The database URL without its password, for logs."""
        return normalise_url(self._url).render_as_string(hide_password=True)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("the store is not open")
        return self._engine

    async def start(self) -> None:
        def open_database() -> Engine:
            isolation = "REPEATABLE READ" if self._shared else None
            engine = create_engine_for(self._url, isolation_level=isolation)
            if not self._shared:
                migrate(engine)
                return engine
            # Controllers starting together migrate one after the other.
            with engine.connect() as connection:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATE_LOCK})
                try:
                    migrate(engine)
                finally:
                    connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATE_LOCK}
                    )
                    connection.commit()
            return engine

        self._engine = await asyncio.get_running_loop().run_in_executor(self._thread, open_database)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(session, *args)` in one transaction, in the store's thread."""
        engine = self.engine

        def transaction() -> T:
            started = time.perf_counter()
            try:
                for attempt in range(1, RETRY_ATTEMPTS + 1):
                    try:
                        with unit_of_work(engine) as session:
                            return fn(session, *args)
                    except DBAPIError as error:
                        if not (self._shared and is_conflict(error)) or attempt == RETRY_ATTEMPTS:
                            raise
                        self.conflicts_retried += 1
                        time.sleep(random.uniform(0.0, 0.005 * attempt))
                raise AssertionError("unreachable")
            finally:
                name = getattr(fn, "__qualname__", repr(fn))
                count, total = self.seconds_by_operation.get(name, (0, 0.0))
                self.seconds_by_operation[name] = (count + 1, total + time.perf_counter() - started)

        return await asyncio.get_running_loop().run_in_executor(self._thread, transaction)

    def run_sync(self, fn: Callable[[Session], T]) -> T:
        """For code already off the loop (tests, tools): one transaction, here and now."""
        with unit_of_work(self.engine) as session:
            return fn(session)

    async def close(self) -> None:
        await super().close()
        busiest = sorted(self.seconds_by_operation.items(), key=lambda kv: -kv[1][1])[:8]
        if self._shared:
            log(_logger, logging.INFO, "database conflicts retried", count=self.conflicts_retried)
        log(
            _logger,
            logging.INFO,
            "database time by operation",
            **{name: f"{calls} calls, {seconds:.2f} s" for name, (calls, seconds) in busiest},
        )
        engine, self._engine = self._engine, None
        loop = asyncio.get_running_loop()
        if engine is not None:
            await loop.run_in_executor(self._thread, engine.dispose)
        await loop.run_in_executor(None, functools.partial(self._thread.shutdown, wait=True))
