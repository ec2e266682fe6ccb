"""The uniform life cycle of the controller's components (Moonraker-style).

A component is created from the settings and the components it needs, then `start()`ed;
long-running work runs in tasks it owns (`spawn`), which `close()` cancels and awaits. A
component is an async context manager, so the service starts them in order with an
`AsyncExitStack` and closes them in reverse, on SIGTERM as on any error. A task that dies
with an exception is logged and (for `spawn(..., restart=True)`) started again after a
short pause, so one bad message never takes a loop down for good.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Self

from controller.logs import log

_logger = logging.getLogger(__name__)
RESTART_PAUSE_S = 1.0


class Component:
    """Base class: owned tasks, start/close, async context manager."""

    name: str = "component"

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False

    async def start(self) -> None:
        """Open resources and spawn the component's tasks. Override and call super()."""

    async def close(self) -> None:
        """Cancel owned tasks and wait for them. Override to release more; call super()."""
        self._closing = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    def spawn(
        self,
        factory: Callable[[], Coroutine[Any, Any, Any]],
        task_name: str,
        *,
        restart: bool = False,
    ) -> asyncio.Task[Any]:
        """Run `factory()` as a task owned by this component."""
        coro = self._supervise(factory, task_name) if restart else factory()
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.name}.{task_name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    async def _supervise(
        self, factory: Callable[[], Coroutine[Any, Any, Any]], task_name: str
    ) -> None:
        while not self._closing:
            try:
                await factory()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                _logger.exception(
                    "task failed; restarting it",
                    extra={"makerfarm_fields": {"component": self.name, "task": task_name}},
                )
                await asyncio.sleep(RESTART_PAUSE_S)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log(
                _logger,
                logging.ERROR,
                "task ended with an error",
                component=self.name,
                task=task.get_name(),
                error=repr(exc),
            )

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
