"""Printer back-ends, found by the `backend.kind` of the agent's configuration.

Each back-end registers a factory in `BACKENDS`; the agent never names one itself.
Real printers (Marlin over USB serial, Klipper through Moonraker) register here
when they arrive.
"""

from __future__ import annotations

from collections.abc import Callable

from agent.backends.base import EventSink, PrinterBackend
from agent.backends.simulated import SimulatedPrinter
from agent.config import BackendSettings
from agent.journal import PrintJournal

BackendFactory = Callable[[BackendSettings, EventSink, PrintJournal], PrinterBackend]


def _simulated(
    settings: BackendSettings, on_event: EventSink, journal: PrintJournal
) -> PrinterBackend:
    return SimulatedPrinter(settings, on_event, journal)


BACKENDS: dict[str, BackendFactory] = {"simulated": _simulated}


def create_backend(
    settings: BackendSettings, on_event: EventSink, journal: PrintJournal
) -> PrinterBackend:
    factory = BACKENDS.get(settings.kind)
    if factory is None:
        raise ValueError(
            f"backend.kind {settings.kind!r} is not one of: " + ", ".join(sorted(BACKENDS))
        )
    return factory(settings, on_event, journal)
