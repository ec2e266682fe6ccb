"""`makerfarm submit` against a real mosquitto, with the test answering as the controller."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from controller.demo_meshes import demo_mesh
from protocol import topics
from protocol.codec import decode, encode
from protocol.errors import RejectionCode
from protocol.messages.jobs import JobStatus, JobSubmit, PartCounts, Rejection
from protocol.states import JobState
from tests.support.mosquitto import Broker

REPO = Path(__file__).resolve().parents[2]


class FakeController:
    """Answers each JobSubmit with the statuses it is given (accepted ... done)."""

    def __init__(self, broker: Broker, answer: str) -> None:
        self.answer = answer
        self.meshes: dict[str, bytes] = {}
        self.submits: list[JobSubmit] = []
        self.ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *_: c.subscribe(
            [
                (topics.topic_filter(topics.TopicKind.MESH), 1),
                (topics.topic_filter(topics.TopicKind.JOB_SUBMIT), 1),
            ]
        )
        self.client.on_subscribe = lambda *_: self.ready.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        parsed = topics.parse_topic(message.topic)
        if parsed.kind == topics.TopicKind.MESH:
            assert parsed.sha256 is not None
            self.meshes[parsed.sha256] = bytes(message.payload)
            return
        assert parsed.shop is not None
        submit = decode(bytes(message.payload), JobSubmit)
        self.submits.append(submit)
        if self.answer == "reject":
            rejection = Rejection(
                topic=message.topic,
                code=RejectionCode.MATERIAL_UNAVAILABLE,
                reason="no printer in the farm runs PA-CF",
                client_ref=submit.client_ref,
                at=datetime.now(UTC),
            )
            client.publish(topics.shop_errors_topic(parsed.shop), encode(rejection), qos=1)
            return
        job = "job-" + submit.client_ref.lower()
        n = submit.quantity
        steps = [
            (JobState.ACCEPTED, PartCounts(queued=n)),
            (JobState.PRINTING, PartCounts(printing=1, printed=n - 1)),
            (JobState.DONE, PartCounts(printed=n)),
        ]
        for state, parts in steps:
            status = JobStatus(
                job_id=job,
                client_ref=submit.client_ref,
                state=state,
                parts=parts,
                updated_at=datetime.now(UTC),
            )
            client.publish(
                topics.job_status_topic(parsed.shop, job), encode(status), qos=1, retain=True
            )


@pytest.fixture
def controller_answering(
    mosquitto: Broker, request: pytest.FixtureRequest
) -> Iterator[FakeController]:
    fake = FakeController(mosquitto, request.param)
    fake.client.loop_start()
    assert fake.ready.wait(10)
    yield fake
    fake.client.disconnect()
    fake.client.loop_stop()


def _submit(broker: Broker, mesh: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "makerfarm_cli",
        "submit",
        str(mesh),
        "--shop",
        "acme",
        "--material",
        "pla",
        "--colour",
        "Black",
        "--quantity",
        "3",
        "--ship-to",
        "52.52,13.40",
        "--broker",
        broker.url,
        "--timeout",
        "20",
        *extra,
    ]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)


@pytest.fixture
def cube_file(tmp_path: Path) -> Path:
    path = tmp_path / "cube.stl"
    path.write_bytes(demo_mesh("cube").stl)
    return path


@pytest.mark.parametrize("controller_answering", ["accept"], indirect=True)
def test_submit_uploads_the_mesh_and_follows_the_job_until_done(
    mosquitto: Broker, controller_answering: FakeController, cube_file: Path
) -> None:
    result = _submit(mosquitto, cube_file, "--client-ref", "order-1001")
    assert result.returncode == 0, result.stderr
    sha = hashlib.sha256(cube_file.read_bytes()).hexdigest()
    assert controller_answering.meshes[sha] == cube_file.read_bytes()
    submit = controller_answering.submits[-1]
    assert (
        submit.client_ref,
        submit.mesh_sha256,
        submit.material,
        submit.colour,
        submit.quantity,
    ) == ("order-1001", sha, "PLA", "black", 3)
    lines = result.stdout.splitlines()
    assert [line.split()[2] for line in lines[1:]] == ["accepted", "printing", "done"]
    assert "3/3 printed" in lines[-1]


@pytest.mark.parametrize("controller_answering", ["accept"], indirect=True)
def test_submit_with_no_wait_and_json_stops_at_accepted(
    mosquitto: Broker, controller_answering: FakeController, cube_file: Path
) -> None:
    result = _submit(mosquitto, cube_file, "--client-ref", "order-1002", "--no-wait", "--json")
    assert result.returncode == 0, result.stderr
    statuses = [decode(line.encode(), JobStatus) for line in result.stdout.splitlines()]
    assert [s.state for s in statuses] == [JobState.ACCEPTED]


@pytest.mark.parametrize("controller_answering", ["reject"], indirect=True)
def test_rejected_submit_prints_the_reason_and_exits_non_zero(
    mosquitto: Broker, controller_answering: FakeController, cube_file: Path
) -> None:
    result = _submit(mosquitto, cube_file, "--client-ref", "order-1003")
    assert result.returncode == 1
    assert "no printer in the farm runs PA-CF" in result.stderr


def test_submit_refuses_bad_arguments_before_touching_the_network(tmp_path: Path) -> None:
    mesh = tmp_path / "part.step"
    mesh.write_bytes(b"solid")
    unreachable = Broker("127.0.0.1", 1, tmp_path, tmp_path)
    assert "use .stl, .3mf or .obj" in _submit(unreachable, mesh).stderr
    stl = tmp_path / "part.stl"
    stl.write_bytes(b"solid")
    result = _submit(unreachable, stl, "--ship-to", "north")
    assert result.returncode == 2
    assert "LAT,LON" in result.stderr
