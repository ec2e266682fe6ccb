"""What arrives as a program: text, bytes, gzip; junk is refused with a reason."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from firmware_profiles.gcode import UnreadableProgram, analyze, decode_program, read_program

PROGRAM = "G28\nG1 X10 Y10 F3000\n"


def test_text_and_utf8_bytes_read_the_same() -> None:
    assert decode_program(PROGRAM) == decode_program(PROGRAM.encode()) == PROGRAM


def test_gzip_is_detected_by_its_magic_bytes() -> None:
    assert decode_program(gzip.compress(PROGRAM.encode())) == PROGRAM


def test_concatenated_gzip_members_are_one_program() -> None:
    packed = gzip.compress(b"G28\n") + gzip.compress(b"G1 X10\n")
    assert decode_program(packed) == "G28\nG1 X10\n"


def test_a_byte_order_mark_is_dropped() -> None:
    assert decode_program(b"\xef\xbb\xbf" + PROGRAM.encode()) == PROGRAM


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"G28\n\xff\xfeG1 X1\n", "not UTF-8"),
        (b"G28\n\x00\x00\x00", "NUL byte"),
        (bytes(range(1, 32)) * 50, "control characters"),
        (b"GCDE\x01\x00\x00\x00", "binary G-code"),
        (gzip.compress(PROGRAM.encode())[:-8], "truncated"),
        (b"\x1f\x8b\x09\x00" + b"garbage" * 4, "damaged"),
    ],
)
def test_junk_is_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableProgram, match=reason):
        decode_program(data)


def test_a_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(b"G1 X1\n" * 200_000)
    with pytest.raises(UnreadableProgram, match="unpacks to more than"):
        decode_program(bomb, max_bytes=100_000)


def test_read_program_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableProgram, match=r"absent\.gcode: no such file"):
        read_program(tmp_path / "absent.gcode")
    binary = tmp_path / "firmware.bin"
    binary.write_bytes(b"\x00\x01" * 100)
    with pytest.raises(UnreadableProgram, match=r"firmware\.bin: binary data"):
        read_program(binary)


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_every_line_ending_gives_the_same_program(ending: str) -> None:
    program = ending.join(["G28", "G90", "M83", "G1 X10 Y10 Z0.2 F3000", "G1 X50 E2", ""])
    stats = analyze(program, planner="python")
    assert stats.lines == 5
    assert stats.filament_mm == pytest.approx(2.0)
    assert stats.layers == 1
