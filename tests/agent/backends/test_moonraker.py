"""Klipper through Moonraker: upload, start, follow, pause, resume, cancel, exclude one
object, and a Klipper shutdown, against a Moonraker peer built from its documented API."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.backends.base import (
    LinkChanged,
    ObjectCancelled,
    Phase,
    PlateCancelled,
    PlateFailed,
    PlateFinished,
    PlatePaused,
    PlateProgress,
    PlateResumed,
    PlateToRun,
    PrinterFault,
)
from agent.backends.moonraker import MoonrakerOptions, MoonrakerPrinter, klipper_name
from agent.backends.moonraker_api import MoonrakerApi, MoonrakerError
from agent.journal import PrintJournal
from tests.agent.backends.conftest import EventLog
from tests.support.moonraker_peer import MoonrakerPeer, moonraker_peer

LABELS = ("part 1", "part-2")


def klipper_program(path: Path) -> PlateToRun:
    defines = "\n".join(f"EXCLUDE_OBJECT_DEFINE NAME={klipper_name(label)}" for label in LABELS)
    path.write_text(defines + "\nM109 S210\nG1 X10 Y10 E1\n")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return PlateToRun(
        plate_id="plate-7",
        sha256=sha,
        material="PLA",
        objects=LABELS,
        estimated_seconds=100.0,
        hotend_c=210,
        bed_c=60,
    )


@pytest.fixture
def peer() -> Iterator[MoonrakerPeer]:
    with moonraker_peer(print_seconds=0.6, api_key="secret") as running:
        yield running


@pytest.fixture
def printer(
    peer: MoonrakerPeer, events: EventLog, journal: PrintJournal
) -> Iterator[MoonrakerPrinter]:
    backend = MoonrakerPrinter(
        MoonrakerOptions(url=peer.url, api_key="secret", reconnect_s=0.2, timeout_s=5.0),
        events,
        journal,
    )
    backend.connect()
    events.wait_for(LinkChanged)
    yield backend
    backend.close()


def test_a_plate_is_uploaded_with_its_checksum_started_and_finished(
    tmp_path: Path,
    peer: MoonrakerPeer,
    printer: MoonrakerPrinter,
    events: EventLog,
    journal: PrintJournal,
) -> None:
    program = tmp_path / "plate.gcode"
    plate = klipper_program(program)
    printer.start(program, plate)
    finished = events.wait_for(PlateFinished)
    assert finished == PlateFinished("plate-7", LABELS)
    assert peer.files["makerfarm/plate-7.gcode"] == program.read_bytes()
    assert peer.started == ["makerfarm/plate-7.gcode"]
    assert "printer.objects.subscribe" in peer.calls
    progress = [e.progress for e in events.of(PlateProgress) if isinstance(e, PlateProgress)]
    assert progress and progress == sorted(progress)
    assert [entry.outcome for entry in journal.entries()] == ["started", "finished"]
    assert printer.status().phase is Phase.IDLE


def test_pause_resume_and_exclude_one_object(
    tmp_path: Path, peer: MoonrakerPeer, printer: MoonrakerPrinter, events: EventLog
) -> None:
    program = tmp_path / "plate.gcode"
    peer.hold_at(0.3)
    printer.start(program, klipper_program(program))
    events.wait_for(
        PlateProgress, where=lambda e: isinstance(e, PlateProgress) and e.progress >= 0.3
    )
    printer.pause()
    events.wait_for(PlatePaused)
    assert printer.status().phase is Phase.PAUSED
    printer.resume()
    events.wait_for(PlateResumed)
    printer.cancel_object("part 1")
    cancelled = events.wait_for(ObjectCancelled)
    assert cancelled == ObjectCancelled(
        "plate-7", "part 1", failed=False, reason="excluded (EXCLUDE_OBJECT)"
    )
    assert "EXCLUDE_OBJECT NAME=part_1" in peer.scripts
    peer.release()
    finished = events.wait_for(PlateFinished)
    assert finished == PlateFinished("plate-7", ("part-2",), ("part 1",))


def test_cancel_reports_every_object_left(
    tmp_path: Path, peer: MoonrakerPeer, printer: MoonrakerPrinter, events: EventLog
) -> None:
    program = tmp_path / "plate.gcode"
    peer.hold_at(0.5)
    printer.start(program, klipper_program(program))
    events.wait_for(
        PlateProgress, where=lambda e: isinstance(e, PlateProgress) and e.progress >= 0.5
    )
    printer.cancel()
    assert events.wait_for(PlateCancelled) == PlateCancelled("plate-7", LABELS)
    assert printer.status().phase is Phase.IDLE


def test_a_klipper_shutdown_fails_the_plate_and_stays_an_error(
    tmp_path: Path, peer: MoonrakerPeer, printer: MoonrakerPrinter, events: EventLog
) -> None:
    program = tmp_path / "plate.gcode"
    peer.hold_at(0.2)
    printer.start(program, klipper_program(program))
    events.wait_for(
        PlateProgress, where=lambda e: isinstance(e, PlateProgress) and e.progress >= 0.2
    )
    peer.shutdown("Heater extruder not heating at expected rate")
    failed = events.wait_for(PlateFailed)
    assert isinstance(failed, PlateFailed) and failed.failed == LABELS
    assert "not heating at expected rate" in failed.reason
    assert events.of(PrinterFault)
    peer.status["webhooks"]["state"] = "ready"
    peer.drop_clients()  # Moonraker comes back with Klipper ready: the error stays
    events.wait_for(
        LinkChanged,
        where=lambda e: (
            isinstance(e, LinkChanged) and e.connected and len(events.of(LinkChanged)) >= 3
        ),
    )
    assert printer.status().phase is Phase.ERROR


def test_an_upload_moonraker_refuses_fails_the_plate(
    tmp_path: Path, printer: MoonrakerPrinter, events: EventLog
) -> None:
    program = tmp_path / "plate.gcode"
    plate = klipper_program(program)
    wrong = PlateToRun(**{**plate.__dict__, "sha256": "1" * 64})
    printer.start(program, wrong)
    failed = events.wait_for(PlateFailed)
    assert isinstance(failed, PlateFailed) and "checksum mismatch" in failed.reason


def test_the_api_key_is_required(peer: MoonrakerPeer) -> None:
    api = MoonrakerApi(peer.url, lambda method, params: None, api_key="wrong", timeout_s=2)
    with pytest.raises(MoonrakerError, match="cannot open"):
        api.open()
