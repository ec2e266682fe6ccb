"""Fixtures for the real back-ends: a Marlin printer on a pty, the back-end driving it,
and the events it reports, waited on with a bound."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.backends.base import BackendEvent, PlateToRun
from agent.backends.marlin import MarlinOptions, MarlinPrinter
from agent.journal import PrintJournal
from firmware_profiles import Profile, load_profile
from tests.support.marlin_peer import MarlinPeer

WAIT_S = 30.0


class EventLog:
    """What a back-end reported, in order; `wait_for` blocks until a matching event."""

    def __init__(self) -> None:
        self.events: list[BackendEvent] = []
        self._changed = threading.Condition()

    def __call__(self, event: BackendEvent) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def of(self, kind: type) -> list[BackendEvent]:
        with self._changed:
            return [event for event in self.events if isinstance(event, kind)]

    def wait_for(
        self,
        kind: type,
        timeout: float = WAIT_S,
        where: Callable[[BackendEvent], bool] = lambda _event: True,
    ) -> BackendEvent:
        def found() -> BackendEvent | None:
            return next((e for e in self.events if isinstance(e, kind) and where(e)), None)

        with self._changed:
            if not self._changed.wait_for(lambda: found() is not None, timeout):
                raise AssertionError(
                    f"no {kind.__name__} within {timeout} s; got: "
                    + ", ".join(type(e).__name__ for e in self.events)
                )
            event = found()
            assert event is not None
            return event


def eventually(predicate: Callable[[], bool], timeout: float = WAIT_S) -> bool:
    """Wait, bounded, for a condition no event announces (a back-end's status)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def marlin_profile(**serial: object) -> Profile:
    profile = load_profile("generic-220")
    return profile.model_copy(update={"serial": profile.serial.model_copy(update=serial)})


def plate_for(
    program: Path,
    objects: tuple[str, ...] = ("a", "b"),
    plate_id: str = "plate-1",
    seconds: float = 600.0,
) -> PlateToRun:
    return PlateToRun(
        plate_id=plate_id,
        sha256="0" * 64,
        material="PLA",
        objects=objects,
        estimated_seconds=seconds,
        hotend_c=210,
        bed_c=60,
    )


@pytest.fixture
def events() -> EventLog:
    return EventLog()


@pytest.fixture
def journal(tmp_path: Path) -> PrintJournal:
    return PrintJournal(tmp_path / "journal.jsonl")


@pytest.fixture
def drive(events: EventLog, journal: PrintJournal) -> Iterator[Callable[..., MarlinPrinter]]:
    """Connect a MarlinPrinter to a peer (answer timeout short, so lost lines are cheap)."""
    printers: list[MarlinPrinter] = []

    def connect(
        peer: MarlinPeer, profile: Profile | None = None, **options: object
    ) -> MarlinPrinter:
        settings: dict[str, object] = {
            "answer_timeout_s": 0.25,
            "reconnect_s": 0.2,
            "connect_timeout_s": 5.0,
        }
        settings.update(options)
        printer = MarlinPrinter(
            MarlinOptions(port=peer.path, **settings),  # type: ignore[arg-type]
            profile or marlin_profile(reset_on_connect=False),
            events,
            journal,
        )
        printers.append(printer)
        printer.connect()
        return printer

    yield connect
    for printer in printers:
        printer.close()
