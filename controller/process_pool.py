"""The worker processes that do the controller's CPU work (mesh checks, planning, slicing).

Nothing CPU-heavy runs on the event loop: `await pool.run(fn, *args)` sends a picklable
top-level function and its arguments to a worker process. Workers come from a forkserver
that has already imported the heavy libraries, so a new worker starts in milliseconds and a
crashed worker (a mesh that kills trimesh) only costs that one call: the pool is rebuilt
and the caller gets `WorkerCrashed`.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import select
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from controller.component import Component
from controller.logs import log

_logger = logging.getLogger(__name__)
T = TypeVar("T")
PRELOAD = ["numpy", "trimesh", "slicing", "scheduler", "firmware_profiles"]


def _leave_with_controller(controller_pid: int) -> None:
    """Worker initializer: exit when the controller exits, even after `kill -9`.

    Workers are children of the forkserver, not of the controller, so a killed controller
    would otherwise leave them running forever. A pidfd becomes readable when the process
    it names ends; a daemon thread blocks on it and ends the worker then.
    """
    try:
        pidfd = os.pidfd_open(controller_pid)
    except (AttributeError, OSError):  # not Linux >= 5.3: nothing to watch with
        return

    def watch() -> None:
        select.select([pidfd], [], [])
        os._exit(0)

    threading.Thread(target=watch, name="controller-watch", daemon=True).start()


class WorkerCrashed(RuntimeError):
    """A worker process died while running a call."""


class ProcessPool(Component):
    name = "process_pool"

    def __init__(self, workers: int) -> None:
        super().__init__()
        self._workers = workers
        self._executor: ProcessPoolExecutor | None = None

    async def start(self) -> None:
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=context,
            initializer=_leave_with_controller,
            initargs=(os.getpid(),),
        )

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise RuntimeError("the process pool is not running")
        executor = self._executor
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)
        except BrokenProcessPool as exc:
            if self._executor is executor:
                log(
                    _logger,
                    logging.ERROR,
                    "a worker process died; restarting the pool",
                    function=getattr(fn, "__name__", str(fn)),
                )
                executor.shutdown(wait=False, cancel_futures=True)
                self._executor = self._new_executor()
            raise WorkerCrashed(
                f"a worker process died while running {getattr(fn, '__name__', fn)}"
            ) from exc

    async def close(self) -> None:
        await super().close()
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
