"""The service's components and the `Farm` they share.

Each component is one concept of the running farm, in its own module: `intake` (meshes,
submits, cancels), `fleet` (printer states, events, offline grace), `replan` (the scheduler),
`slicer` (plates to G-code), `dispatch` (G-code and run_plate to idle printers), `staff`
(staff commands) and `publisher` (job statuses and fleet summaries). They meet only through
the `Farm`: the database (`store`), the worker processes (`pool`), the MQTT link (`link`),
the publisher, and the wake-up signals one component pokes for another ("the fleet changed:
re-plan", "plates were sliced: dispatch"). With several controllers (`--shared-group`) the
`leadership` says whether this one runs the farm-wide loops, and carries the wake-ups to the
other controllers (controller.leadership).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from sqlmodel import Session

from controller.component import Component
from controller.config import ControllerSettings
from controller.effects import ShopStatus, job_statuses, needs_replan
from controller.leadership import Leadership, SoloLeadership
from controller.lifecycle.transitions import Changes
from controller.mqtt_link import MqttLink
from controller.process_pool import ProcessPool
from controller.store import Store

if TYPE_CHECKING:
    from controller.components.publisher import Publisher

T = TypeVar("T")


class Wakeup:
    """A level-triggered signal: pokes while the waiter is busy are not lost, and many
    pokes before it looks again count as one."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def poke(self) -> None:
        self._event.set()

    async def wait(self, timeout_s: float | None = None) -> bool:
        """Wait for a poke (True) or the timeout (False); the poke is consumed."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._event.wait()
        except TimeoutError:
            return False
        self._event.clear()
        return True


@dataclass
class Signals:
    replan: Wakeup = field(default_factory=Wakeup)
    slice: Wakeup = field(default_factory=Wakeup)
    dispatch: Wakeup = field(default_factory=Wakeup)


@dataclass
class Farm:
    settings: ControllerSettings
    store: Store
    pool: ProcessPool
    link: MqttLink
    signals: Signals
    publisher: Publisher
    leadership: Leadership | SoloLeadership = field(default_factory=SoloLeadership)

    async def apply(
        self, fn: Callable[..., tuple[T, Changes]], *args: Any, replan: bool = True
    ) -> T:
        """Run a domain operation in one transaction, then make its effects known.

        `fn(session, *args)` returns (value, Changes). In the same transaction the statuses
        of the jobs it touched are read; after the commit they are published (in commit
        order), the agents get the commands the operation asked for, and the components
        that care are woken (`replan=False`: not the re-planner, for its own changes)."""

        def work(session: Session) -> tuple[T, Changes, list[ShopStatus]]:
            value, changes = fn(session, *args)
            return value, changes, job_statuses(session, changes.jobs)

        work.__qualname__ = getattr(fn, "__qualname__", "apply")  # for the store's timings

        value, changes, statuses = await self.store.run(work)
        self.publisher.after_commit(changes, statuses)
        self.wake_for(changes, replan)
        return value

    def wake_for(self, changes: Changes, replan: bool = True) -> None:
        if not changes.events and not changes.jobs:
            return
        kinds = {"slice", "dispatch", "fleet"}
        if replan and needs_replan(changes):
            self.signals.replan.poke()
            kinds.add("replan")
        self.signals.slice.poke()
        self.signals.dispatch.poke()
        self.leadership.notify(kinds)

    def woken_by_peer(self, kinds: set[str]) -> None:
        """Another controller committed changes of these kinds: look again here too."""
        if "replan" in kinds:
            self.signals.replan.poke()
        if "slice" in kinds:
            self.signals.slice.poke()
        if "dispatch" in kinds:
            self.signals.dispatch.poke()
        if "fleet" in kinds:
            self.publisher.fleet_changed.poke()


def build_components(
    settings: ControllerSettings,
    store: Store,
    pool: ProcessPool,
    link: MqttLink,
    leadership: Leadership | SoloLeadership | None = None,
) -> list[Component]:
    """Every component, in start order; their routes are registered on `link` here."""
    from controller.components.dispatch import Dispatcher
    from controller.components.fleet import Fleet
    from controller.components.intake import Intake
    from controller.components.publisher import Publisher
    from controller.components.replan import Replanner
    from controller.components.slicer import Slicer
    from controller.components.staff import StaffDesk

    leadership = leadership or SoloLeadership()
    publisher = Publisher(settings, store, link, leadership)
    farm = Farm(settings, store, pool, link, Signals(), publisher, leadership)
    leadership.on_wake(farm.woken_by_peer)
    return [
        publisher,
        Intake(farm),
        Fleet(farm),
        StaffDesk(farm),
        Replanner(farm),
        Slicer(farm),
        Dispatcher(farm),
    ]
