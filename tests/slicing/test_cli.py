"""`makerfarm slice`: several models on one plate, estimates printed, clear errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from makerfarm_cli import main
from tests.slicing.conftest import box, stl_bytes


def test_two_models_on_one_plate(shared_models: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "plate.gcode"
    code = main(
        [
            "slice",
            str(shared_models / "cube_20mm.stl"),
            str(shared_models / "rocker_arm.stl"),
            "--profile",
            "generic-220",
            "--material",
            "PLA",
            "--set",
            "infill_density=15%",
            "-o",
            str(out),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert re.search(
        r"wrote .*plate\.gcode: 400 layers, \dh\d\dm\d\ds, [\d.]+ m / [\d.]+ g of PLA", captured.out
    )
    assert "cube_20mm: at (" in captured.out and "rocker_arm: at (" in captured.out
    gcode = out.read_text()
    assert "; printing object cube_20mm" in gcode and "; printing object rocker_arm" in gcode
    assert ";SETTINGS: quality=standard layer=0.2 perimeters=2 infill=15% grid" in gcode
    assert "slicing: 100%" in captured.err  # progress lines when not on a terminal


def test_json_summary(shared_models: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "cube.gcode"
    code = main(
        [
            "slice",
            str(shared_models / "cube_20mm.stl"),
            "--profile",
            "ratrig-vcore3-300",
            "--quality",
            "draft",
            "--json",
            "--quiet",
            "-o",
            str(out),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["layers"] == 72  # 20 mm at 0.28 mm
    assert summary["print_seconds"] > 0 and summary["filament_g"] > 0
    assert [o["label"] for o in summary["objects"]] == ["cube_20mm"]
    assert captured.err == ""


def test_repairs_are_reported(shared_models: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    mesh = box(10, 10, 10)
    broken = tmp_path / "lidless.stl"
    broken.write_bytes(stl_bytes(mesh.vertices, mesh.faces[1:]))
    code = main(
        [
            "slice",
            str(broken),
            "--profile",
            "generic-220",
            "--quiet",
            "-o",
            str(tmp_path / "out.gcode"),
        ]
    )
    assert code == 0
    assert "repaired: closed 1 holes" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "infil_density=10"], "unknown setting infil_density"),
        (["--set", "perimeters"], "--set expects KEY=VALUE"),
        (["--material", "UNOBTAINIUM"], "no material 'UNOBTAINIUM'"),
        (["--profile", "no-such-printer"], "no-such-printer"),
    ],
)
def test_bad_options_are_explained(
    shared_models: Path, tmp_path: Path, capsys, args: list[str], message: str
) -> None:  # type: ignore[no-untyped-def]
    base = ["slice", str(shared_models / "cube_20mm.stl"), "-o", str(tmp_path / "x.gcode")]
    if "--profile" not in args:
        base += ["--profile", "generic-220"]
    assert main(base + args) == 1
    assert message in capsys.readouterr().err


def test_a_rejected_mesh_names_the_file_and_the_reason(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "broken.stl"
    bad.write_bytes(b"solid nothing here\nendsolid\n")
    assert (
        main(["slice", str(bad), "--profile", "generic-220", "-o", str(tmp_path / "x.gcode")]) == 1
    )
    err = capsys.readouterr().err
    assert err.startswith("makerfarm slice: broken.stl: ")


def test_a_model_too_big_for_the_printer_is_refused(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    mesh = box(300, 40, 5)
    big = tmp_path / "beam.stl"
    big.write_bytes(stl_bytes(mesh.vertices, mesh.faces))
    assert (
        main(["slice", str(big), "--profile", "generic-220", "-o", str(tmp_path / "x.gcode")]) == 1
    )
    assert "fits the 220 x 220 x 250 mm build volume of generic-220 at no rotation" in (
        capsys.readouterr().err
    )
