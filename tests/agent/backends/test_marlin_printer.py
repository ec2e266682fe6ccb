"""The Marlin back-end as the agent sees it: faults, the person at the printer, pause,
resume, cancel, cancelling one object, temperatures and a pulled USB cable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from agent.backends.base import (
    LinkChanged,
    ObjectCancelled,
    OperatorNeeded,
    Phase,
    PlateCancelled,
    PlateFailed,
    PlateFinished,
    PlatePaused,
    PlateProgress,
    PlateResumed,
    PrinterFault,
)
from agent.backends.marlin import MarlinPrinter
from agent.journal import PrintJournal
from firmware_profiles import ObjectCancel
from tests.agent.backends.conftest import EventLog, eventually, marlin_profile, plate_for
from tests.support.marlin_peer import MarlinPeer, marlin_peer


def two_objects(path: Path, moves_each: int = 400, extra: str = "") -> Path:
    """Objects a and b, each on two layers, with absolute extrusion."""
    lines = ["G28", "M109 S210", "G90", "M82", "G92 E0", "M486 T2"]
    e = 0.0
    for z in (0.2, 0.4):
        lines.append(f"G1 Z{z} F600")
        for index, label in enumerate(("a", "b")):
            lines.append(f'M486 S{index} A"{label}"')
            for i in range(moves_each):
                e += 0.05
                lines.append(f"G1 X{20 + 60 * index + i % 40} Y{40 + i % 30} E{e:.3f} F1800")
            lines.append("M486 S-1")
        lines.append(extra)
    path.write_text("\n".join(lines) + "\n")
    return path


def connected(
    drive: Callable[..., MarlinPrinter], events: EventLog, peer: MarlinPeer, **options: object
) -> MarlinPrinter:
    printer = drive(peer, **options)
    events.wait_for(LinkChanged)
    return printer


def at_percent(events: EventLog, percent: int) -> None:
    events.wait_for(
        PlateProgress, where=lambda e: isinstance(e, PlateProgress) and e.progress * 100 >= percent
    )


def test_thermal_runaway_fails_the_plate_and_the_error_stays(
    tmp_path: Path, drive: Callable[..., MarlinPrinter], events: EventLog, journal: PrintJournal
) -> None:
    program = two_objects(tmp_path / "plate.gcode")
    with marlin_peer(halt_after=300) as peer:
        printer = connected(drive, events, peer)
        printer.start(program, plate_for(program))
        failed = events.wait_for(PlateFailed)
        assert isinstance(failed, PlateFailed)
        assert "Thermal Runaway" in failed.reason and failed.failed == ("a", "b")
        fault = events.of(PrinterFault)[0]
        assert isinstance(fault, PrinterFault) and "M999" in fault.message
        assert printer.status().phase is Phase.ERROR
        assert journal.entries()[-1].outcome == "failed"
        sent = len(peer.executed)
        try:
            printer.start(program, plate_for(program, plate_id="plate-2"))
        except Exception as refused:
            assert "error" in str(refused)
        assert len(peer.executed) == sent


def test_filament_change_waits_for_a_person_and_goes_on(
    tmp_path: Path, drive: Callable[..., MarlinPrinter], events: EventLog
) -> None:
    program = two_objects(tmp_path / "plate.gcode", moves_each=50, extra="M600")
    with marlin_peer() as peer:
        printer = connected(drive, events, peer)
        printer.start(program, plate_for(program))
        for change in (1, 2):  # one M600 on each layer

            def asked(_event: object, change: int = change) -> bool:
                return (
                    sum(
                        "insert filament" in getattr(e, "message", "")
                        for e in events.of(OperatorNeeded)
                    )
                    >= change
                )

            def resumed(_event: object, change: int = change) -> bool:
                return len(events.of(PlateResumed)) >= change

            events.wait_for(OperatorNeeded, where=asked)
            assert printer.status().phase is Phase.NEEDS_OPERATOR
            peer.operator_done()
            events.wait_for(PlateResumed, where=resumed)
        events.wait_for(PlateFinished)
        assert peer.executed.count("M600") == 2


def test_pause_parks_keeps_temperatures_and_resume_returns(
    tmp_path: Path, drive: Callable[..., MarlinPrinter], events: EventLog
) -> None:
    program = two_objects(tmp_path / "plate.gcode", moves_each=500)
    with marlin_peer(baudrate=250_000) as peer:
        printer = connected(drive, events, peer)
        printer.start(program, plate_for(program))
        at_percent(events, 20)
        printer.pause()
        events.wait_for(PlatePaused)
        assert printer.status().phase is Phase.PAUSED
        printer.resume()
        events.wait_for(PlateResumed)
        events.wait_for(PlateFinished)
    ran = [c for c in peer.executed if not c.startswith(("M73", "M400"))]
    park = ran.index("G1 X0.000 Y220.000 F6000")  # the profile's park position
    assert ran[park - 2] == "G90" and ran[park - 1].startswith("G1 Z")
    lifted = float(ran[park - 1].split()[1][1:])
    back = ran[park + 1 : park + 5]
    assert back[0] == "G90" and back[1].startswith("G1 X") and back[2].startswith("G1 Z")
    assert float(back[2].split()[1][1:]) == pytest.approx(lifted - 10)  # back down to the layer
    assert back[3] == "G90"  # the program's modes again (absolute XYZ and E)
    assert not any(c.startswith(("M104 S0", "M140 S0")) for c in peer.executed)


def test_cancel_runs_the_profiles_cancel_gcode(
    tmp_path: Path, drive: Callable[..., MarlinPrinter], events: EventLog, journal: PrintJournal
) -> None:
    program = two_objects(tmp_path / "plate.gcode", moves_each=1000)
    with marlin_peer(baudrate=250_000) as peer:
        printer = connected(drive, events, peer)
        printer.start(program, plate_for(program))
        at_percent(events, 10)
        printer.cancel()
        assert events.wait_for(PlateCancelled) == PlateCancelled("plate-1", ("a", "b"))
        tail = peer.executed[-10:]
        heaters_and_fan = [c for c in tail if c[:4] in ("M104", "M140", "M106")]
        assert heaters_and_fan == ["M104 S0", "M140 S0", "M106 S0"]
        assert printer.status().phase is Phase.IDLE
        assert journal.entries()[-1].outcome == "cancelled"


def test_cancelling_one_object_with_m486(
    tmp_path: Path, drive: Callable[..., MarlinPrinter], events: EventLog
) -> None:
    program = two_objects(tmp_path / "plate.gcode", moves_each=500)
    profile = marlin_profile(reset_on_connect=False)
    profile = profile.model_copy(
        update={
            "capabilities": profile.capabilities.model_copy(
                update={"object_cancel": ObjectCancel.M486}
            )
        }
    )
    with marlin_peer(baudrate=250_000) as peer:
        printer = connected(drive, events, peer, profile=profile)
        printer.start(program, plate_for(program))
        at_percent(events, 5)
        printer.cancel_object("b")
        assert events.wait_for(ObjectCancelled) == ObjectCancelled(
            "plate-1", "b", failed=False, reason="cancelled on request (M486)"
        )
        assert "M486 P1" in peer.executed
        assert events.wait_for(PlateFinished) == PlateFinished("plate-1", ("a",), ("b",))


def test_without_m486_the_agent_leaves_the_objects_moves_out(
    tmp_path: Path, drive: Callable[..., MarlinPrinter], events: EventLog
) -> None:
    program = two_objects(tmp_path / "plate.gcode", moves_each=500)
    with marlin_peer(baudrate=250_000) as peer:
        printer = connected(drive, events, peer)
        printer.start(program, plate_for(program))
        at_percent(events, 5)
        printer.cancel_object("b")
        events.wait_for(ObjectCancelled)
        assert events.wait_for(PlateFinished) == PlateFinished("plate-1", ("a",), ("b",))
    second_layer = peer.executed.index("G1 Z0.4 F600")
    b_moves = [
        c
        for c in peer.executed[second_layer:]
        if c.startswith("G1 X") and 80 <= float(c.split()[1][1:]) < 120
    ]
    assert b_moves == []  # object b sits at X 80..120
    resync = [c for c in peer.executed if c.startswith("G92 E")]
    assert len(resync) >= 2  # the extruder is set where the program expects it after b


def test_printer_asks_to_pause_resume_and_cancel_from_its_own_buttons(
    tmp_path: Path, drive: Callable[..., MarlinPrinter], events: EventLog
) -> None:
    program = two_objects(tmp_path / "plate.gcode", moves_each=1000)
    with marlin_peer(baudrate=250_000) as peer:
        printer = connected(drive, events, peer)
        printer.start(program, plate_for(program))
        at_percent(events, 5)
        peer.action("pause")
        events.wait_for(PlatePaused)
        peer.action("resume")
        events.wait_for(PlateResumed)
        peer.action("cancel")
        events.wait_for(PlateCancelled)
        assert printer.status().phase is Phase.IDLE


def test_temperatures_by_auto_report_or_by_polling(
    drive: Callable[..., MarlinPrinter], events: EventLog
) -> None:
    with marlin_peer() as peer:
        printer = connected(drive, events, peer)
        printer.set_temperatures(200, 55)
        assert peer.wait_until(lambda: "M155 S2" in peer.executed, 10)
        assert eventually(lambda: printer.status().hotend_target_c == 200)
    no_autoreport = {"AUTOREPORT_TEMP": False}
    with marlin_peer(caps=no_autoreport) as peer:
        printer = connected(drive, events, peer, temperature_interval_s=0.05)
        assert peer.wait_until(lambda: peer.executed.count("M105") >= 3, 10)
        assert "M155 S2" not in peer.executed
        assert eventually(lambda: printer.status().bed_c == 20.5)
        assert printer.status().hotend_c == 21.0


def test_a_pulled_cable_fails_the_plate_and_reports_the_link(
    tmp_path: Path, drive: Callable[..., MarlinPrinter], events: EventLog
) -> None:
    program = two_objects(tmp_path / "plate.gcode", moves_each=1000)
    with marlin_peer(baudrate=250_000) as peer:
        printer = connected(drive, events, peer)
        printer.start(program, plate_for(program))
        at_percent(events, 5)
        peer.unplug()
        failed = events.wait_for(PlateFailed)
        assert isinstance(failed, PlateFailed) and "dropped off" in failed.reason
        lost = events.wait_for(
            LinkChanged, where=lambda e: isinstance(e, LinkChanged) and not e.connected
        )
        assert isinstance(lost, LinkChanged)
        assert printer.status().phase is Phase.DISCONNECTED
