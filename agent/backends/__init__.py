"""Printer back-ends, found by the `backend.kind` of the agent's configuration.

Each back-end registers a factory in `BACKENDS`; the agent never names one itself.
A factory imports its back-end when it is chosen, so a Pi that drives a Marlin printer
never loads the Klipper client.
"""

from __future__ import annotations

from collections.abc import Callable

from agent.backends.base import EventSink, PrinterBackend
from agent.config import (
    BackendSettings,
    MarlinBackendSettings,
    MoonrakerBackendSettings,
    SimulatedBackendSettings,
)
from agent.journal import PrintJournal
from firmware_profiles import Profile

BackendFactory = Callable[[BackendSettings, EventSink, PrintJournal, Profile], PrinterBackend]


def _simulated(
    settings: BackendSettings, on_event: EventSink, journal: PrintJournal, profile: Profile
) -> PrinterBackend:
    from agent.backends.simulated import SimulatedPrinter

    assert isinstance(settings, SimulatedBackendSettings)
    return SimulatedPrinter(settings, on_event, journal)


def _marlin(
    settings: BackendSettings, on_event: EventSink, journal: PrintJournal, profile: Profile
) -> PrinterBackend:
    from agent.backends.marlin import MarlinOptions, MarlinPrinter

    assert isinstance(settings, MarlinBackendSettings)
    options = MarlinOptions(**settings.model_dump(exclude={"kind"}))
    return MarlinPrinter(options, profile, on_event, journal)


def _moonraker(
    settings: BackendSettings, on_event: EventSink, journal: PrintJournal, profile: Profile
) -> PrinterBackend:
    from agent.backends.moonraker import MoonrakerOptions, MoonrakerPrinter

    assert isinstance(settings, MoonrakerBackendSettings)
    options = MoonrakerOptions(
        url=settings.url,
        api_key=settings.key(),
        upload_dir=settings.upload_dir,
        reconnect_s=settings.reconnect_s,
        timeout_s=settings.timeout_s,
    )
    return MoonrakerPrinter(options, on_event, journal)


BACKENDS: dict[str, BackendFactory] = {
    "simulated": _simulated,
    "marlin": _marlin,
    "moonraker": _moonraker,
}


def create_backend(
    settings: BackendSettings, on_event: EventSink, journal: PrintJournal, profile: Profile
) -> PrinterBackend:
    factory = BACKENDS.get(settings.kind)
    if factory is None:
        raise ValueError(
            f"backend.kind {settings.kind!r} is not one of: " + ", ".join(sorted(BACKENDS))
        )
    return factory(settings, on_event, journal, profile)
