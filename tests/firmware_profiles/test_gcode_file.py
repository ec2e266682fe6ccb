"""A program file is interpreted a piece at a time: the same result as its text, the same
refusals, and memory that does not grow with the file."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from firmware_profiles import load_profile
from firmware_profiles.gcode import (
    UnreadableProgram,
    analyze,
    analyze_and_check,
    decode_program,
    open_program,
    source,
)
from firmware_profiles.gcode.api import PlannerChoice, numpy_available
from tests.firmware_profiles.hostile.corpus import Case, cases, profile_for

REPO = Path(__file__).resolve().parents[2]
PROFILE = load_profile("generic-220")
START = "G28\nG90\nM83\nM140 S60\nM104 S210\nM190 S60\nM109 S210\n"
LAYER = ";LAYER_CHANGE\n;Z:0.2\nG1 Z0.2 F3000\nG1 X20 Y20\nG1 X60 Y20 E2.5 F1500\n"
PRINT = START + LAYER + "G1 X60 Y60 E2.5\n;LAYER_CHANGE\nG1 Z0.4\nG1 X20 Y60 E2.5\nM104 S0\n"


def _same(text: str | bytes, path: Path, planner: PlannerChoice = "python") -> None:
    by_text = analyze_and_check(text, PROFILE, "PLA", planner=planner)
    by_file = analyze_and_check(path, PROFILE, "PLA", planner=planner)
    assert by_file == by_text


@pytest.fixture
def tiny_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks and pieces of a few characters: every boundary case comes up."""
    monkeypatch.setattr(source, "CHUNK_BYTES", 3)
    monkeypatch.setattr(source, "PIECE_CHARS", 11)
    monkeypatch.setattr(source, "SUB_PIECE_CHARS", 4)


@pytest.mark.parametrize(
    "text",
    [
        PRINT,
        PRINT.rstrip("\n"),  # no newline at the end
        PRINT.replace("\n", "\r\n"),
        PRINT.replace("\n", "\r"),  # classic Mac line ends
        PRINT.replace(";LAYER_CHANGE\n", ""),  # no layer marker: the bed is the bound
        ";LAYER_CHANGE\n" + PRINT,  # a marker on the first line
        "\ufeff" + PRINT,
        PRINT + "G1 X500 Y20 E3\nM104 S400\n",  # errors: off the bed, too hot
        "",
        "\n\n",
    ],
    ids=[
        "lf",
        "no-final-lf",
        "crlf",
        "cr",
        "no-marker",
        "marker-first",
        "bom",
        "errors",
        "empty",
        "blank",
    ],
)
def test_a_file_reads_as_its_text(text: str, tmp_path: Path, tiny_pieces: None) -> None:
    path = tmp_path / "plate.gcode"
    path.write_bytes(text.encode())
    _same(text, path)


def test_gzip_members_read_as_one_program(tmp_path: Path, tiny_pieces: None) -> None:
    packed = gzip.compress(PRINT[:40].encode()) + gzip.compress(PRINT[40:].encode())
    path = tmp_path / "plate.gcode.gz"
    path.write_bytes(packed)
    _same(packed, path)


def test_reference_programs_read_as_their_text(shared_reference: Path) -> None:
    for name in ("cube_20mm_prusa.gcode", "benchy_cura.gcode"):
        path = shared_reference / "gcode" / name
        _same(path.read_bytes(), path)
    # The numpy planner (where installed) plans file pieces as it plans the text's too.
    if numpy_available():
        _same(path.read_bytes(), path, "numpy")


HOSTILE = [case for case in cases() if case.profile_id == "generic-220"][:12]


@pytest.mark.parametrize("case", HOSTILE, ids=[case.name for case in HOSTILE])
def test_hostile_programs_fail_the_same_way(case: Case, tmp_path: Path) -> None:
    path = tmp_path / "plate.gcode"
    path.write_text(case.text, newline="")
    profile = profile_for(case.profile_id)
    assert analyze_and_check(path, profile, case.material) == analyze_and_check(
        case.text, profile, case.material
    )


@pytest.mark.parametrize(
    "data",
    [
        b"G28\n\xff\xfeG1 X1\n",
        b"G28\nG1 X1 ; caf\xc3",  # ends inside a character
        b"G28\n\x00\x00\x00",
        bytes(range(1, 32)) * 50,
        b"GCDE\x01\x00\x00\x00",
        gzip.compress(b"GCDE\x01\x00"),
        gzip.compress(PRINT.encode())[:-8],
        b"\x1f\x8b\x09\x00" + b"garbage" * 4,
        gzip.compress(b"G1 X1\n" * 2000),  # over max_bytes
        b"G1 X1\n" * 2000,  # over max_bytes
        gzip.compress(b"\xff" + b"G1 X1\n" * 2000),  # too big comes before not UTF-8
    ],
)
def test_junk_is_refused_as_decode_program_refuses_it(
    data: bytes, tmp_path: Path, tiny_pieces: None
) -> None:
    path = tmp_path / "junk.gcode"
    path.write_bytes(data)
    with pytest.raises(UnreadableProgram) as whole:
        decode_program(data, max_bytes=10_000)
    with pytest.raises(UnreadableProgram) as streamed:
        open_program(path, max_bytes=10_000)
    assert str(streamed.value) == f"{path}: {whole.value}"


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(UnreadableProgram, match=r"absent\.gcode: no such file"):
        analyze(tmp_path / "absent.gcode")
    with pytest.raises(UnreadableProgram, match="is a directory"):
        analyze(tmp_path)


def test_memory_stays_bounded_whatever_the_file_size(tmp_path: Path) -> None:
    """A 24 MB program is checked in a few MB: the file is never held whole (its text
    alone would take 24 MB, its bytes as much again). Measured as the peak RSS of a
    process that does nothing else."""
    note = "; " + "slicer settings and thumbnails make plates big " * 4 + "\n"
    layer = LAYER + "G1 X40 Y40 E1\n" + note * 100
    path = tmp_path / "big.gcode"
    with open(path, "w") as program:
        program.write(START)
        while program.tell() < 24_000_000:
            program.write(layer)
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from firmware_profiles import load_profile\n"
        "from firmware_profiles.gcode import analyze_and_check\n"
        "def peak():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM'):\n"
        "            return int(line.split()[1]) * 1024\n"
        "profile = load_profile('generic-220')\n"
        "analyze_and_check(Path('/dev/null'), profile, 'PLA', planner='python')\n"
        "before = peak()\n"
        "stats, found = analyze_and_check(Path(sys.argv[1]), profile, 'PLA', planner='python')\n"
        "print(stats.lines, len(found), peak() - before)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines, violations, grown = (int(word) for word in out.stdout.split())
    assert lines > 100_000 and violations == 0
    assert grown < 8_000_000, f"checking a 24 MB file grew the process by {grown / 1e6:.1f} MB"
