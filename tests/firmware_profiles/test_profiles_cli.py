"""`makerfarm profiles list / show / check`, run through the real command entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from makerfarm_cli import main


def test_list_shows_a_row_per_printer(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["ID", "NAME", "FLAVOUR"]
    row = next(line for line in out if line.startswith("generic-220 "))
    assert "marlin2" in row and "220 x 220" in row and "PLA PETG TPU" in row
    assert any("round 230" in line for line in out)
    assert not any(line.startswith("marlin2-base") for line in out)


def test_list_json_is_machine_readable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "list", "--json"]) == 0
    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["voron-2.4-350"]["transport"] == "moonraker"
    assert rows["generic-220"]["bed"] == {
        "shape": "rectangle",
        "x_mm": 220.0,
        "y_mm": 220.0,
        "origin": "front-left",
    }


def test_show_prints_the_resolved_profile_in_sections(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "show", "generic-220"]) == 0
    out = capsys.readouterr().out
    for section in ("[machine]", "[limits]", "[materials]", "[safety]", "[gcode.start]"):
        assert section in out
    assert "max_feedrate_mm_s" in out and "x=500 y=500 z=10 e=60" in out
    assert "M500" in out  # inherited from marlin2-base


def test_show_json_is_the_whole_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "show", "prusa-mk4", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["id"] == "prusa-mk4" and data["flavour"] == "prusa-buddy"
    assert data["capabilities"]["object_cancel"] == "m486"
    assert data["machine"]["bed_x_mm"] == 250


def test_unknown_id_exits_2_and_lists_the_known_ids(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "show", "ender-9"]) == 2
    err = capsys.readouterr().err
    assert "'ender-9'" in err and "generic-220" in err and "voron-2.4-350" in err


def test_extra_directory_adds_a_farm_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "shop-mk4.toml").write_text(
        'id = "shop-mk4"\nname = "Shop MK4 with 0.6 nozzle"\ninherits = "prusa-mk4"\n'
        "[machine]\nnozzle_diameter_mm = 0.6\n"
    )
    assert main(["profiles", "show", "shop-mk4", "--dir", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["machine"]["nozzle_diameter_mm"] == 0.6 and data["machine"]["max_z_mm"] == 220
    assert main(["profiles", "check", str(tmp_path)]) == 0
    assert "shop-mk4" in capsys.readouterr().out


def test_check_reports_a_broken_profile_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(
        'id = "broken"\nname = "B"\ninherits = "generic-220"\n[machine]\nbedx_mm = 200\n'
    )
    assert main(["profiles", "check", str(path)]) == 1
    err = capsys.readouterr().err
    assert str(path) in err and "machine.bedx_mm" in err and "bed_x_mm" in err
