"""The controller service: starts its components in order, runs until told to stop.

Order matters and is the same on every start: the broker (embedded unless one is given),
the database (migrated, state recovered), the worker processes, the MQTT link, then the
components that route messages through the link. Closing runs in reverse, so on SIGTERM
the components finish their current transaction, the link flushes what is queued, and
the broker stops last.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from contextlib import AsyncExitStack

from controller.component import Component
from controller.components import build_components
from controller.config import BrokerAddress, ControllerSettings
from controller.embedded_broker import EmbeddedBroker
from controller.farm_file import load_farm_file, provision
from controller.leadership import Leadership, SoloLeadership
from controller.logs import log
from controller.mqtt_link import MqttLink
from controller.process_pool import ProcessPool
from controller.store import Store
from protocol import topics

_logger = logging.getLogger(__name__)

# With a shared group, what the broker does NOT split between the controllers:
# - printer events: Mosquitto hands a message in flight to a controller that dies to nobody
#   else, and one printer's events must be applied in order; every controller gets every
#   event and the database applies each one once (processed_messages, by event id);
# - mesh uploads: each controller stores every mesh, so the submit that names it finds it
#   wherever the broker sends the submit.
UNSHARED_FILTERS = frozenset(
    {
        topics.topic_filter(topics.TopicKind.PRINTER_EVENTS),
        topics.topic_filter(topics.TopicKind.MESH),
    }
)
# Retained topics a shared subscription never delivers: read once at every connect.
SNAPSHOT_FILTERS = frozenset({topics.topic_filter(topics.TopicKind.PRINTER_STATE)})


class ControllerService:
    """Everything `makerfarm controller` runs, as one async object."""

    def __init__(
        self, settings: ControllerSettings, announce: Callable[[str], None] | None = None
    ) -> None:
        """`announce` receives the lines a person starting the service wants to see (where
        the embedded broker listens); the logs have them too."""
        self.settings = settings
        self._announce = announce
        self.ready = asyncio.Event()
        self._broker_address: BrokerAddress | None = None
        self.components: dict[str, Component] = {}
        self.leadership: Leadership | SoloLeadership = SoloLeadership()

    @property
    def broker_address(self) -> BrokerAddress:
        if self._broker_address is None:
            raise RuntimeError("the service has not started")
        return self._broker_address

    async def run(self, stop: asyncio.Event) -> None:
        """Start everything, wait for `stop`, close everything in reverse order."""
        settings = self.settings
        async with AsyncExitStack() as stack:
            if settings.broker is None:
                broker = EmbeddedBroker(settings.embedded_broker_port)
                await stack.enter_async_context(broker)
                self._broker_address = broker.address
                if self._announce is not None:
                    self._announce(
                        f"embedded broker listening on {broker.address.url} "
                        "(loopback only: other machines cannot reach it)"
                    )
            else:
                self._broker_address = settings.broker
            store = await stack.enter_async_context(Store(settings))
            if settings.farm_file is not None:
                farm = await asyncio.to_thread(load_farm_file, settings.farm_file)
                await store.run(provision, farm)
                log(
                    _logger,
                    logging.INFO,
                    "farm provisioned",
                    sites=len(farm.sites),
                    printers=len(farm.printers),
                )
            pool = await stack.enter_async_context(ProcessPool(settings.workers))
            leadership: Leadership | SoloLeadership = SoloLeadership()
            if settings.shared_group is not None:
                leadership = Leadership(settings.database_url, settings.mqtt_client_id)
                await stack.enter_async_context(leadership)
            self.leadership = leadership
            link = MqttLink(
                self._broker_address,
                settings.mqtt_client_id,
                shared_group=settings.shared_group,
                unshared=UNSHARED_FILTERS,
                snapshot=SNAPSHOT_FILTERS,
            )
            components = build_components(settings, store, pool, link, leadership)
            # Components register their routes on the link before it starts; the link
            # starts before them so their first publishes have somewhere to go.
            await stack.enter_async_context(link)
            for component in components:
                await stack.enter_async_context(component)
                self.components[component.name] = component
            log(
                _logger,
                logging.INFO,
                "controller running",
                broker=self._broker_address.url,
                database=store.safe_url,
                data_dir=str(settings.data_dir.resolve()),
                workers=settings.workers,
                shared_group=settings.shared_group,
                client_id=settings.mqtt_client_id,
            )
            self.ready.set()
            await stop.wait()
            log(_logger, logging.INFO, "controller stopping")
        log(_logger, logging.INFO, "controller stopped")


async def run_until_signalled(
    settings: ControllerSettings, announce: Callable[[str], None] | None = None
) -> None:
    """Run the service until SIGTERM or SIGINT, then shut down cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await ControllerService(settings, announce).run(stop)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
