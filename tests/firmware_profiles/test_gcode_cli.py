"""`makerfarm gcode stats|check|codes`: output, JSON and exit status."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

import makerfarm_cli

REPO = Path(__file__).resolve().parents[2]
HOSTILE = REPO / "tests" / "firmware_profiles" / "hostile"


@pytest.fixture(scope="module")
def cube(shared_reference: Path) -> Path:
    return shared_reference / "gcode" / "cube_20mm_prusa.gcode"


def test_stats_prints_a_readable_summary(cube: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = makerfarm_cli.main(
        ["gcode", "stats", str(cube), "--profile", "generic-220", "--material", "PLA"]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "layers              100 (0.2 mm)" in out
    assert "print time          21m 42s" in out
    assert "4.0 g of PLA" in out


def test_stats_json_carries_every_figure(cube: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert makerfarm_cli.main(["gcode", "stats", str(cube), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["profile"] is None and data["layers"] == 100
    assert data["filament_mm"] == pytest.approx(1357.28, abs=0.01)
    assert data["filament_g"] is None  # no profile, no material: no density
    assert len(data["per_layer"]) == 100 and data["layer_heights"][0] == pytest.approx(0.2)


def test_check_of_a_clean_program_exits_zero(
    cube: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = makerfarm_cli.main(
        ["gcode", "check", str(cube), "--profile", "generic-220", "--material", "PLA"]
    )
    assert status == 0
    assert capsys.readouterr().out.startswith("OK: ")


def test_check_of_a_hostile_program_exits_one_and_names_the_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = makerfarm_cli.main(
        [
            "gcode",
            "check",
            str(HOSTILE / "hotend_300_on_pla.gcode"),
            "--profile",
            "generic-220",
            "--material",
            "PLA",
        ]
    )
    out = capsys.readouterr().out
    assert status == 1
    assert (
        "line 15: M104 S300 sets the hotend to 300 °C but PLA allows at most 230 °C on generic-220"
    ) in out
    assert "REJECTED" in out


def test_check_json_lists_the_violations(capsys: pytest.CaptureFixture[str]) -> None:
    status = makerfarm_cli.main(
        [
            "gcode",
            "check",
            str(HOSTILE / "eeprom_write_m500.gcode"),
            "--profile",
            "generic-220",
            "--material",
            "PLA",
            "--json",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert status == 1 and data["ok"] is False and data["errors"] == 1
    assert data["violations"][0] | {"reason": ""} == {
        "line": 15,
        "command": "M500",
        "code": "blocked-command",
        "severity": "error",
        "reason": "",
    }


def test_operator_command_passes_on_an_attended_printer(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(HOSTILE / "filament_change_m600.gcode")
    args = ["gcode", "check", path, "--profile", "generic-220", "--material", "PLA"]
    assert makerfarm_cli.main(args) == 1
    assert makerfarm_cli.main([*args, "--attended"]) == 0
    assert "warning  operator-command" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.gcode", "--profile", "generic-220", "--material", "PLA"], "no such file"),
        (
            [str(HOSTILE / "bed_150.gcode"), "--profile", "nope", "--material", "PLA"],
            "no profile with id 'nope'",
        ),
        (
            [str(HOSTILE / "bed_150.gcode"), "--profile", "generic-220", "--material", "ABS"],
            "has no material 'ABS'",
        ),
    ],
)
def test_unreadable_input_or_unknown_names_exit_two(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert makerfarm_cli.main(["gcode", "check", *args]) == 2
    assert message in capsys.readouterr().err


def test_binary_junk_exits_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.gcode"
    junk.write_bytes(bytes(range(256)) * 8)
    assert makerfarm_cli.main(["gcode", "stats", str(junk), "--json"]) == 2
    assert "junk.gcode" in json.loads(capsys.readouterr().out)["error"]


def test_gzipped_program_on_stdin_is_checked(cube: Path) -> None:
    packed = gzip.compress(cube.read_bytes())
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "makerfarm_cli",
            "gcode",
            "check",
            "-",
            "--profile",
            "generic-220",
            "--material",
            "PLA",
            "--json",
        ],
        input=packed,
        capture_output=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout)["ok"] is True


def test_codes_lists_every_violation_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert makerfarm_cli.main(["gcode", "codes", "--json"]) == 0
    codes = {entry["code"] for entry in json.loads(capsys.readouterr().out)}
    assert {"blocked-command", "cold-extrusion", "outside-bed", "limit-raised"} <= codes
