"""The simulated printer on its own: a clock the test moves, no threads, no broker."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.backends.base import (
    BackendError,
    BackendEvent,
    LinkChanged,
    ObjectCancelled,
    Phase,
    PlateCancelled,
    PlateFailed,
    PlateFinished,
    PlateProgress,
    PlateStarted,
    PlateToRun,
    PrinterFault,
)
from agent.backends.simulated import SimulatedPrinter
from agent.config import FaultSettings, SimulatedBackendSettings
from agent.journal import PrintJournal, printed_objects


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def program(tmp_path: Path) -> Path:
    path = tmp_path / "plate.gcode"
    path.write_text("G28\n")
    return path


def make_plate(estimated_seconds: float = 100.0) -> PlateToRun:
    return PlateToRun(
        plate_id="plate-1",
        sha256="a" * 64,
        material="PLA",
        objects=("part-a", "part-b", "part-c"),
        estimated_seconds=estimated_seconds,
        hotend_c=210.0,
        bed_c=60.0,
    )


class Rig:
    def __init__(self, tmp_path: Path, settings: SimulatedBackendSettings) -> None:
        self.clock = Clock()
        self.events: list[BackendEvent] = []
        self.journal = PrintJournal(tmp_path / "journal.jsonl")
        self.printer = SimulatedPrinter(
            settings, self.events.append, self.journal, clock=self.clock, own_thread=False
        )
        self.printer.connect()

    def run_for(self, seconds: float, step: float = 1.0) -> None:
        elapsed = 0.0
        while elapsed < seconds:
            self.clock.now += step
            elapsed += step
            self.printer.advance()

    def of_type(self, kind: type) -> list:  # type: ignore[type-arg]
        return [event for event in self.events if isinstance(event, kind)]


def test_plate_heats_up_prints_and_finishes_every_object(tmp_path: Path, program: Path) -> None:
    rig = Rig(tmp_path, SimulatedBackendSettings(speed=10.0, heat_rate_c_s=2.0))
    rig.printer.start(program, make_plate())
    assert rig.printer.status().phase is Phase.HEATING
    rig.run_for(1.0)
    status = rig.printer.status()
    assert status.hotend_c is not None and 22.0 < status.hotend_c < 210.0
    rig.run_for(30.0)
    assert rig.of_type(PlateFinished) == [PlateFinished("plate-1", ("part-a", "part-b", "part-c"))]
    progress = [event.progress for event in rig.of_type(PlateProgress)]
    assert progress == sorted(progress) and len(progress) > 3
    assert rig.printer.status().phase is Phase.IDLE
    assert printed_objects(rig.journal.entries()) == [
        ("plate-1", "part-a"),
        ("plate-1", "part-b"),
        ("plate-1", "part-c"),
    ]


def test_speed_factor_divides_the_print_time(tmp_path: Path, program: Path) -> None:
    rig = Rig(tmp_path, SimulatedBackendSettings(speed=100.0, heat_rate_c_s=1000.0))
    rig.printer.start(program, make_plate(estimated_seconds=1000.0))
    rig.run_for(5.0, step=0.5)
    assert not rig.of_type(PlateFinished)
    assert rig.printer.status().seconds_left == pytest.approx(5.0, abs=1.0)
    rig.run_for(6.0, step=0.5)
    assert rig.of_type(PlateFinished)


def test_paused_plate_makes_no_progress_until_resumed(tmp_path: Path, program: Path) -> None:
    rig = Rig(tmp_path, SimulatedBackendSettings(speed=10.0, heat_rate_c_s=1000.0))
    rig.printer.start(program, make_plate())
    rig.run_for(3.0)
    rig.printer.pause()
    before = rig.printer.status().progress
    rig.run_for(50.0)
    assert rig.printer.status().progress == before
    assert rig.printer.status().phase is Phase.PAUSED
    rig.printer.resume()
    rig.run_for(20.0)
    assert rig.of_type(PlateFinished)


def test_cancel_stops_the_plate_and_cools_down(tmp_path: Path, program: Path) -> None:
    rig = Rig(tmp_path, SimulatedBackendSettings(speed=10.0, heat_rate_c_s=1000.0))
    rig.printer.start(program, make_plate())
    rig.run_for(2.0)
    rig.printer.cancel()
    assert rig.of_type(PlateCancelled) == [
        PlateCancelled("plate-1", ("part-a", "part-b", "part-c"))
    ]
    status = rig.printer.status()
    assert status.phase is Phase.IDLE and status.hotend_target_c == 0.0
    assert [entry.outcome for entry in rig.journal.entries()] == ["started", "cancelled"]


def test_cancelled_object_is_not_printed(tmp_path: Path, program: Path) -> None:
    rig = Rig(tmp_path, SimulatedBackendSettings(speed=10.0, heat_rate_c_s=1000.0))
    rig.printer.start(program, make_plate())
    rig.run_for(2.0)
    rig.printer.cancel_object("part-b")
    with pytest.raises(BackendError, match="no object 'part-z'"):
        rig.printer.cancel_object("part-z")
    rig.run_for(20.0)
    assert rig.of_type(PlateFinished) == [
        PlateFinished("plate-1", ("part-a", "part-c"), cancelled=("part-b",))
    ]


def test_part_failure_loses_one_object_and_the_plate_finishes(
    tmp_path: Path, program: Path
) -> None:
    fault = FaultSettings(kind="part_failure", at_progress=0.3, object="part-c")
    rig = Rig(tmp_path, SimulatedBackendSettings(speed=10.0, heat_rate_c_s=1000.0, faults=[fault]))
    rig.printer.start(program, make_plate())
    rig.run_for(20.0)
    lost = rig.of_type(ObjectCancelled)
    assert [(event.label, event.failed) for event in lost] == [("part-c", True)]
    assert rig.of_type(PlateFinished) == [
        PlateFinished("plate-1", ("part-a", "part-b"), failed=("part-c",))
    ]


def test_plate_failure_loses_every_object_left(tmp_path: Path, program: Path) -> None:
    fault = FaultSettings(kind="plate_failure", at_progress=0.5)
    rig = Rig(tmp_path, SimulatedBackendSettings(speed=10.0, heat_rate_c_s=1000.0, faults=[fault]))
    rig.printer.start(program, make_plate())
    rig.run_for(20.0)
    [failed] = rig.of_type(PlateFailed)
    assert failed.failed == ("part-a", "part-b", "part-c")
    assert "came loose" in failed.reason
    assert not rig.of_type(PlateFinished)
    assert printed_objects(rig.journal.entries()) == []


def test_thermal_error_stops_the_printer_until_restarted(tmp_path: Path, program: Path) -> None:
    fault = FaultSettings(kind="thermal_error", at_progress=0.2)
    rig = Rig(tmp_path, SimulatedBackendSettings(speed=10.0, heat_rate_c_s=1000.0, faults=[fault]))
    rig.printer.start(program, make_plate())
    rig.run_for(20.0)
    assert rig.of_type(PrinterFault) and rig.of_type(PlateFailed)
    rig.run_for(100.0)
    status = rig.printer.status()
    assert status.phase is Phase.ERROR and status.error and "thermal runaway" in status.error
    with pytest.raises(BackendError, match="error"):
        rig.printer.start(program, make_plate())


def test_disconnect_loses_the_plate_and_the_printer_comes_back(
    tmp_path: Path, program: Path
) -> None:
    fault = FaultSettings(kind="disconnect", at_progress=0.4, disconnect_s=3.0)
    rig = Rig(tmp_path, SimulatedBackendSettings(speed=10.0, heat_rate_c_s=1000.0, faults=[fault]))
    rig.printer.start(program, make_plate())
    rig.run_for(6.0)
    assert rig.printer.status().phase is Phase.DISCONNECTED
    assert rig.of_type(PlateFailed)
    rig.run_for(3.0)
    assert rig.printer.status().phase is Phase.IDLE
    links = [event.connected for event in rig.of_type(LinkChanged)]
    assert links == [True, False, True]


def test_fault_strikes_only_as_many_plates_as_asked(tmp_path: Path, program: Path) -> None:
    rig = Rig(tmp_path, SimulatedBackendSettings(speed=10.0, heat_rate_c_s=1000.0))
    rig.printer.inject(FaultSettings(kind="plate_failure", at_progress=0.1, plates=1))
    rig.printer.start(program, make_plate())
    rig.run_for(20.0)
    rig.printer.start(program, make_plate())
    rig.run_for(20.0)
    assert len(rig.of_type(PlateFailed)) == 1 and len(rig.of_type(PlateFinished)) == 1
    assert rig.of_type(PlateStarted) == [PlateStarted("plate-1")] * 2


def test_start_refuses_while_busy(tmp_path: Path, program: Path) -> None:
    rig = Rig(tmp_path, SimulatedBackendSettings())
    rig.printer.start(program, make_plate())
    with pytest.raises(BackendError, match="not idle"):
        rig.printer.start(program, make_plate())


def test_preheat_ramps_to_the_targets_while_idle(tmp_path: Path) -> None:
    rig = Rig(tmp_path, SimulatedBackendSettings(heat_rate_c_s=10.0))
    rig.printer.set_temperatures(200.0, 60.0)
    rig.run_for(30.0)
    status = rig.printer.status()
    assert (status.hotend_c, status.bed_c) == (200.0, 60.0)
    rig.printer.set_temperatures(0.0, 0.0)
    rig.run_for(30.0)
    assert rig.printer.status().hotend_c == 22.0
