"""Streaming a program to a Marlin printer on a pty: every line runs exactly once, in
order, whatever the link does to it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from agent.backends.base import LinkChanged, PlateFinished, PlateStarted
from agent.backends.marlin import MarlinPrinter
from agent.journal import PrintJournal
from tests.agent.backends.conftest import EventLog, marlin_profile, plate_for
from tests.support.marlin_peer import MarlinPeer, marlin_peer


def write_program(path: Path, lines: int) -> list[str]:
    """A program whose every move is unique, so the order it ran in can be checked."""
    moves = [f"G1 X{i % 200}.{i % 7} Y{(i * 7) % 200} E{i * 0.01:.3f}" for i in range(lines)]
    path.write_text(
        "; a test program\nM109 S210 ; heat\n"
        + "\n".join(f"{move} ; move {i}" if i % 3 == 0 else move for i, move in enumerate(moves))
        + "\n\n"
    )
    return moves


def moves_run(peer: MarlinPeer) -> list[str]:
    return [command for command in peer.executed if command.startswith("G1 ")]


def run_program(
    drive: Callable[..., MarlinPrinter],
    events: EventLog,
    peer: MarlinPeer,
    program: Path,
    **options: object,
) -> MarlinPrinter:
    printer = drive(peer, **options)
    events.wait_for(LinkChanged)
    printer.start(program, plate_for(program))
    events.wait_for(PlateFinished, timeout=120)
    return printer


def test_fifty_thousand_lines_with_a_fault_every_500_run_exactly_once_in_order(
    tmp_path: Path, drive: Callable[..., MarlinPrinter], events: EventLog, journal: PrintJournal
) -> None:
    program = tmp_path / "plate.gcode"
    moves = write_program(program, 50_000)
    with marlin_peer(fault_every=500, busy_s=0.2, keepalive_s=0.05) as peer:
        printer = run_program(drive, events, peer, program, answer_timeout_s=0.1)
        assert moves_run(peer) == moves
        assert sum(peer.counters.faults.values()) >= 100
        assert set(peer.counters.faults) == {
            "checksum",
            "drop",
            "lost_ok",
            "busy",
            "action",
            "echo",
        }
        assert printer.session is not None and printer.session.link.counters.resent >= 50
    assert [entry.outcome for entry in journal.entries()] == ["started", "finished"]
    finished = events.of(PlateFinished)[0]
    assert isinstance(finished, PlateFinished) and finished.printed == ("a", "b")


@pytest.mark.parametrize("resend_ok", [True, False], ids=["marlin-2.0", "marlin-2.1-no-ok"])
def test_resend_with_and_without_ok(
    resend_ok: bool, tmp_path: Path, drive: Callable[..., MarlinPrinter], events: EventLog
) -> None:
    program = tmp_path / "plate.gcode"
    moves = write_program(program, 2_000)
    with marlin_peer(fault_every=25, faults=("checksum",), resend_ok=resend_ok) as peer:
        run_program(drive, events, peer, program)
        assert moves_run(peer) == moves
        assert peer.counters.checksum_errors >= 80


def test_several_lines_in_flight_with_advanced_ok(
    tmp_path: Path, drive: Callable[..., MarlinPrinter], events: EventLog
) -> None:
    program = tmp_path / "plate.gcode"
    moves = write_program(program, 5_000)
    with marlin_peer(
        fault_every=97, faults=("checksum", "drop", "lost_ok"), advanced_ok=True
    ) as peer:
        run_program(drive, events, peer, program, in_flight=4)
        assert moves_run(peer) == moves


def test_busy_printer_is_waited_for_without_timeouts(
    tmp_path: Path, drive: Callable[..., MarlinPrinter], events: EventLog
) -> None:
    program = tmp_path / "plate.gcode"
    program.write_text("G28\nG1 X10 Y10 E1\nG28\nG1 X20 Y20 E2\n")
    with marlin_peer(busy_s=1.0, keepalive_s=0.05) as peer:
        printer = run_program(drive, events, peer, program, answer_timeout_s=0.3)
        assert [c for c in peer.executed if c.startswith(("G28", "G1 "))] == [
            "G28",
            "G1 X10 Y10 E1",
            "G28",
            "G1 X20 Y20 E2",
        ]
        assert printer.session is not None
        assert printer.session.link.counters.timeouts == 0


def test_the_plate_starts_heating_and_reports_progress_to_the_end(
    tmp_path: Path, drive: Callable[..., MarlinPrinter], events: EventLog
) -> None:
    program = tmp_path / "plate.gcode"
    write_program(program, 1_000)
    with marlin_peer() as peer:
        run_program(drive, events, peer, program)
    assert isinstance(events.events[1], PlateStarted)
    from agent.backends.base import PlateProgress

    progress = [e.progress for e in events.of(PlateProgress) if isinstance(e, PlateProgress)]
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert any("M73 P50" in command for command in peer.executed)  # Cap:BUILD_PERCENT:1


def homing_every(path: Path, lines: int, every: int) -> list[str]:
    """Moves with a G28 (a blocking command: the firmware reads nothing) now and then."""
    commands = [
        f"G1 X{i % 200}.{i % 7} Y{(i * 7) % 200} E{i * 0.01:.3f} F1800" if i % every else "G28"
        for i in range(1, lines + 1)
    ]
    path.write_text("\n".join(commands) + "\n")
    return commands


def test_sending_ahead_never_overflows_the_firmwares_receive_buffer(
    tmp_path: Path, drive: Callable[..., MarlinPrinter], events: EventLog
) -> None:
    program = tmp_path / "plate.gcode"
    commands = homing_every(program, 600, 100)
    with marlin_peer(
        advanced_ok=True,
        baudrate=250_000,
        busy_s=0.2,
        keepalive_s=0.05,
        fault_every=150,
        faults=("checksum", "drop", "lost_ok"),
    ) as peer:
        printer = run_program(drive, events, peer, program)
        assert [c for c in peer.executed if c.startswith(("G1 ", "G28"))] == commands
        assert peer.counters.overflow_bytes == 0
        assert printer.session is not None and printer.session.link.sending_ahead


def test_a_host_that_sends_past_the_receive_buffer_loses_bytes_but_no_line_runs_twice(
    tmp_path: Path, drive: Callable[..., MarlinPrinter], events: EventLog
) -> None:
    program = tmp_path / "plate.gcode"
    commands = homing_every(program, 300, 100)
    greedy = marlin_profile(reset_on_connect=False, rx_buffer_bytes=2048)
    with marlin_peer(baudrate=250_000, busy_s=0.2, keepalive_s=0.05) as peer:
        run_program(drive, events, peer, program, profile=greedy, in_flight=32)
        assert peer.counters.overflow_bytes > 0
        assert [c for c in peer.executed if c.startswith(("G1 ", "G28"))] == commands
