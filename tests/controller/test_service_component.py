"""The components' life cycle: owned tasks end with their component."""

from __future__ import annotations

import asyncio

from controller.component import Component


class Ticker(Component):
    name = "ticker"

    def __init__(self) -> None:
        super().__init__()
        self.started = asyncio.Event()
        self.cancelled = False
        self.runs = 0

    async def start(self) -> None:
        self.spawn(self._tick, "tick", restart=True)

    async def _tick(self) -> None:
        self.runs += 1
        if self.runs == 1:
            raise RuntimeError("a bad message")
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise


def test_closing_a_component_cancels_its_tasks_and_a_failed_task_is_restarted() -> None:
    async def scenario() -> Ticker:
        async with Ticker() as ticker:
            await asyncio.wait_for(ticker.started.wait(), 5)
        return ticker

    ticker = asyncio.run(scenario())
    assert ticker.runs == 2
    assert ticker.cancelled
    assert not ticker._tasks
