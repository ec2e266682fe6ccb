"""Re-planning: the scheduler turns open parts and the fleet into plates.

Woken by new jobs, printer changes and failures (`signals.replan`), it waits a short
debounce so a burst of submissions becomes one plan, never plans more often than
`replan_min_interval_s`, reads the farm into a `PlanInstance`, runs `scheduler.plan` in a
worker process (with the previous plan, so promised plates stay), and records the result:
planned plates are created, moved or dropped; locked plates are never touched. Then the
slicer is woken.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from sqlmodel import Session

from controller.component import Component
from controller.components import Farm
from controller.lifecycle.plans import record_plan
from controller.lifecycle.transitions import Changes
from controller.logs import log
from controller.plan_instance import InstanceBuilder
from controller.workers import plan_farm
from protocol.planning import Plan, PlanInstance

_logger = logging.getLogger(__name__)
# Without any poke, plan again this often (staffed hours and due dates move with the clock).
IDLE_REPLAN_S = 300.0
PLAN_DUTY_FACTOR = 3.0


class Replanner(Component):
    name = "replan"

    def __init__(self, farm: Farm) -> None:
        super().__init__()
        self._farm = farm
        self._previous: Plan | None = None
        self._builder = InstanceBuilder()
        self.plans_made = 0

    async def start(self) -> None:
        self._farm.signals.replan.poke()  # plan once at start: the farm may have changed
        # One controller plans for the whole farm (controller.leadership).
        self.spawn(lambda: self._farm.leadership.while_leader(self._loop), "loop", restart=True)

    async def _loop(self) -> None:
        timing = self._farm.settings.timing
        last, took = 0.0, 0.0
        while True:
            await self._farm.signals.replan.wait(IDLE_REPLAN_S)
            await asyncio.sleep(timing.replan_debounce_s)
            # Never spend more than about a third of the time planning: under a burst of
            # submissions the plans get bigger and come less often, and intake keeps going.
            interval = max(timing.replan_min_interval_s, PLAN_DUTY_FACTOR * took)
            wait = last + interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            last = time.monotonic()
            await self.replan()
            took = time.monotonic() - last

    async def replan(self) -> None:
        now = datetime.now(UTC)
        instance: PlanInstance | None = await self._farm.store.run(self._builder.build, now)
        if instance is None:
            return  # no part waiting or locked: nothing to plan
        started = time.monotonic()
        plan_json = await self._farm.pool.run(
            plan_farm,
            instance.model_dump_json(by_alias=True),
            self._previous.model_dump_json(by_alias=True) if self._previous else None,
            self._farm.settings.plan_seed,
        )
        plan = Plan.model_validate_json(plan_json)
        planned = await self._farm.apply(_record, plan, replan=False)
        self._previous = plan
        self.plans_made += 1
        log(
            _logger,
            logging.INFO,
            "plan recorded",
            parts=len(instance.parts),
            plates=len(plan.plates),
            unplaced=len(plan.unplaced),
            to_slice=planned,
            seconds=round(time.monotonic() - started, 3),
        )


def _record(session: Session, plan: Plan) -> tuple[int, Changes]:
    outcome = record_plan(session, plan)
    for skipped in outcome.skipped:
        log(_logger, logging.DEBUG, "plan entry skipped", why=skipped)
    return len(outcome.plates_to_slice), outcome.changes
