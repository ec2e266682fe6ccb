"""`makerfarm plan` and `makerfarm farmbench` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from makerfarm_cli import main
from tests.scheduler.farms import small_farm


@pytest.fixture
def instance_file(tmp_path: Path) -> Path:
    path = tmp_path / "farm.json"
    path.write_text(small_farm().model_dump_json(by_alias=True))
    return path


def test_plan_prints_a_summary_per_printer(
    instance_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", str(instance_file)]) == 0
    out = capsys.readouterr().out
    assert "printer" in out and "n1" in out and "s1" in out
    assert "31/31 placed" in out


def test_plan_json_and_output_file_hold_the_plan(
    instance_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "plan.json"
    assert main(["plan", str(instance_file), "--json", "-o", str(target)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["type"] == "plan" and printed["metrics"]["placed_parts"] == 31
    assert json.loads(target.read_text()) == printed


def test_plan_with_previous_keeps_plate_ids(
    instance_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "first.json"
    assert main(["plan", str(instance_file), "-o", str(first)]) == 0
    assert main(["plan", str(instance_file), "--previous", str(first), "--json"]) == 0
    capsys.readouterr()
    second = json.loads((tmp_path / "first.json").read_text())
    assert second["plates"]


def test_a_broken_instance_is_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"now": "2026-01-01T00:00:00Z", "sites": [], "parts": []}))
    assert main(["plan", str(path)]) == 2
    err = capsys.readouterr().err
    assert "printers: Field required" in err and "sites" in err


def test_a_missing_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(tmp_path / "nope.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_farmbench_generates_an_instance_that_plans(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "bench.json"
    assert (
        main(
            [
                "farmbench",
                "generate",
                "--parts",
                "40",
                "--sites",
                "2",
                "--days",
                "1",
                "--seed",
                "5",
                "-o",
                str(target),
            ]
        )
        == 0
    )
    assert main(["plan", str(target), "--json"]) == 0
    capsys.readouterr()
    data = json.loads(target.read_text())
    assert len(data["parts"]) == 40 and len(data["sites"]) == 2
