"""`makerfarm schema`: one JSON Schema per message, matching what the wire really carries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import makerfarm_cli
from protocol import MESSAGE_TYPES, encode
from tests.protocol.samples import SAMPLES


def run_schema(*args: str) -> int:
    return makerfarm_cli.main(["schema", *args])


def test_out_dir_gets_one_file_per_message_and_an_index(tmp_path: Path) -> None:
    assert run_schema("--out", str(tmp_path)) == 0
    for name in MESSAGE_TYPES:
        schema = json.loads((tmp_path / f"{name}.schema.json").read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["properties"]["type"]["const"] == name
    index = json.loads((tmp_path / "index.json").read_text())
    listed = {entry["type"]: entry for entry in index["messages"]}
    assert set(MESSAGE_TYPES) <= set(listed)
    assert listed["job.submit"]["direction"] == "shop -> controller"
    assert listed["job.submit"]["file"] == "job.submit.schema.json"


def test_job_submit_schema_requires_its_fields_and_forbids_others(tmp_path: Path) -> None:
    run_schema("--out", str(tmp_path), "job.submit")
    schema = json.loads((tmp_path / "job.submit.schema.json").read_text())
    assert schema["additionalProperties"] is False
    assert {"type", "schema", "client_ref", "mesh_sha256", "material", "quantity"} <= set(
        schema["required"]
    )
    assert "schema_version" not in schema["properties"]
    assert schema["properties"]["quantity"]["maximum"] == 1000
    assert schema["$defs"]["ShipTo"]["additionalProperties"] is False


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_real_payload_uses_only_properties_its_schema_lists(name: str, tmp_path: Path) -> None:
    run_schema("--out", str(tmp_path), name)
    schema = json.loads((tmp_path / f"{name}.schema.json").read_text())
    payload = json.loads(encode(SAMPLES[name]))
    assert set(payload) <= set(schema["properties"])
    assert set(schema["required"]) <= set(payload)


def test_without_out_prints_all_schemas_keyed_by_type(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_schema() == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(MESSAGE_TYPES) <= set(printed)
    assert printed["printer.state"]["properties"]["state"]["$ref"].endswith("PrinterStatus")


def test_json_flag_reports_the_files_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_schema("--out", str(tmp_path), "--json", "job.cancel") == 0
    report = json.loads(capsys.readouterr().out)
    assert [Path(p).name for p in report["files"]] == ["job.cancel.schema.json", "index.json"]


def test_an_unknown_type_lists_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_schema("job.sumbit") == 2
    err = capsys.readouterr().err
    assert "unknown message type 'job.sumbit'" in err and "job.submit" in err


def test_an_unwritable_out_dir_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert run_schema("--out", str(blocker / "schemas")) == 1
    assert "cannot write to" in capsys.readouterr().err
