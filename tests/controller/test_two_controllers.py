"""Two `makerfarm controller` processes on one PostgreSQL database and one mosquitto.

The farm runs as it would on two machines: both controllers with `--shared-group`, simulated
printers at three sites (`makerfarm swarm`), simulated staff, shops submitting jobs. What
is checked is what the printers saw (an observer on their command and event topics), not
only the database: no plate is started twice or sent to two printers, every job is done, both
controllers took a share of the work, and after the leader is killed with SIGKILL the other
one takes over and finishes the farm alone.
"""

from __future__ import annotations

import json
import signal
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from controller.demo_farm import DemoJob, demo_jobs
from controller.demo_meshes import demo_mesh
from controller.demo_staff import SimulatedStaff
from controller.job_tracker import JobTracker, submit_job
from controller.shop_link import ShopLink
from controller.sim_farm import farm_toml, roster, sim_farm
from controller.sim_processes import ControllerProcess, MosquittoProcess, SwarmProcess
from protocol import topics
from protocol.codec import decode_any
from protocol.errors import ProtocolError
from protocol.messages.commands import RunPlate
from protocol.messages.printer import EventKind, PrinterEvent
from tests.conftest import require_mosquitto
from tests.e2e.harness import wait_until

pytestmark = pytest.mark.timeout(300)

GROUP = "controllers"
JOBS_BEFORE_KILL = 8
JOBS_AFTER_KILL = 6
RESUBMIT_AFTER_S = 10.0  # a shop that heard nothing sends the same client_ref again
BED_CLEAR_AGAIN_S = 5.0  # staff press "bed clear" again when the TUI showed no answer
DEADLINE_S = 150.0


class PrinterSide:
    """What the printers were told and did: run_plate commands and plate_started events,
    from a plain (unshared) subscription of its own."""

    def __init__(self, address_port: int) -> None:
        self._lock = threading.Lock()
        self.run_plate: dict[str, list[str]] = defaultdict(list)  # plate -> printers sent to
        self.started: dict[str, list[str]] = defaultdict(list)  # plate -> printers started
        self._ready = threading.Event()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"observer-{uuid.uuid4().hex[:8]}"
        )
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda *_: self._ready.set()
        self._client.on_message = self._on_message
        self._port = address_port

    def __enter__(self) -> PrinterSide:
        self._client.connect("127.0.0.1", self._port, keepalive=30)
        self._client.loop_start()
        assert self._ready.wait(10), "the observer could not subscribe"
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.loop_stop()
        self._client.disconnect()

    def _on_connect(self, client: mqtt.Client, *_: object) -> None:
        client.subscribe(
            [
                (topics.topic_filter(topics.TopicKind.PRINTER_CMD), 1),
                (topics.topic_filter(topics.TopicKind.PRINTER_EVENTS), 1),
            ]
        )

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        parsed = topics.parse_topic(message.topic)
        try:
            if parsed.kind == topics.TopicKind.PRINTER_CMD:
                decoded = decode_any(bytes(message.payload), [RunPlate])
            else:
                decoded = decode_any(bytes(message.payload), [PrinterEvent])
        except ProtocolError:
            return  # another command, or an event this test does not follow
        with self._lock:
            if isinstance(decoded, RunPlate) and parsed.printer:
                self.run_plate[decoded.plate_id].append(parsed.printer)
            elif (
                isinstance(decoded, PrinterEvent)
                and decoded.kind is EventKind.PLATE_STARTED
                and decoded.plate_id
                and parsed.printer
            ):
                self.started[decoded.plate_id].append(parsed.printer)


def _log_lines(path: Path) -> list[dict[str, object]]:
    lines = []
    for raw in path.read_bytes().splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue
    return lines


def _count(path: Path, message: str) -> int:
    return sum(1 for line in _log_lines(path) if line.get("event") == message)


@pytest.fixture
def farm_dir(tmp_path: Path) -> Iterator[Path]:
    require_mosquitto()
    farm = sim_farm(3, 2)
    (tmp_path / "farm.toml").write_text(farm_toml(farm))
    (tmp_path / "roster.json").write_text(json.dumps(roster(farm)))
    yield tmp_path


def _submit(link: ShopLink, jobs: list[DemoJob], at: dict[str, float]) -> None:
    for job in jobs:
        at[job.client_ref] = time.monotonic()
        submit_job(link, job, demo_mesh(job.mesh).stl)


def test_two_controllers_share_the_farm_and_one_carries_on_after_the_other_is_killed(
    farm_dir: Path, postgres_url: str
) -> None:
    data = farm_dir
    mosquitto = MosquittoProcess(data / "mosquitto")
    url = f"mqtt://127.0.0.1:{mosquitto.port}"
    common = ("--shared-group", GROUP, "--workers", "1", "--replan-interval", "0.5")
    farm = data / "farm.toml"
    with mosquitto, PrinterSide(mosquitto.port) as printers:
        first = ControllerProcess(url, data, farm, postgres_url, *common, log_name="ctl-a.log")
        second = ControllerProcess(url, data, farm, postgres_url, *common, log_name="ctl-b.log")
        logs = {"a": first.log_path, "b": second.log_path}
        processes = {"a": first, "b": second}
        with first, second:
            wait_until(
                lambda: any(_count(p, "this controller is now the leader") for p in logs.values()),
                30,
                "a leader",
            )
            leader = next(
                k for k, p in logs.items() if _count(p, "this controller is now the leader")
            )
            survivor = "b" if leader == "a" else "a"
            swarm = SwarmProcess(
                url, data / "roster.json", 2000.0, 0.0, 7, log_path=data / "swarm.log"
            )
            jobs = demo_jobs(JOBS_BEFORE_KILL + JOBS_AFTER_KILL, seed=11)
            refs = [job.client_ref for job in jobs]
            by_ref = {job.client_ref: job for job in jobs}
            submitted: dict[str, float] = {}
            with (
                swarm,
                SimulatedStaff(mosquitto.address) as staff,
                JobTracker(url) as tracker,
                ShopLink(url, None) as link,
            ):
                _submit(link, jobs[:JOBS_BEFORE_KILL], submitted)
                # Both controllers take a share before the leader dies.
                wait_until(
                    lambda: (
                        all(_count(p, "job accepted") for p in logs.values())
                        and sum(tracker.state_of(r) == "done" for r in refs) >= 2
                    ),
                    60,
                    "both controllers to accept jobs and two jobs to finish",
                )
                before_kill = {k: _count(p, "job accepted") for k, p in logs.items()}
                dispatched_before = {k: _count(p, "plate dispatched") for k, p in logs.items()}
                victim = processes[leader].proc
                assert victim is not None
                victim.send_signal(signal.SIGKILL)
                victim.wait(10)
                _submit(link, jobs[JOBS_BEFORE_KILL:], submitted)

                awaiting: dict[str, float] = {}

                def all_done() -> bool:
                    # A message in flight to the killed controller is lost with it (Mosquitto
                    # gives it to nobody else): shops and staff ask again, as people would.
                    now = time.monotonic()
                    for ref in refs:
                        if tracker.latest(ref) is None and now - submitted[ref] > RESUBMIT_AFTER_S:
                            _submit(link, [by_ref[ref]], submitted)
                    for printer, state in staff.printer_states().items():
                        if state != "awaiting_bed_clear":
                            awaiting.pop(printer, None)
                        elif now - awaiting.setdefault(printer, now) > BED_CLEAR_AGAIN_S:
                            awaiting[printer] = now
                            staff.clear_bed(printer)
                    return all(tracker.state_of(ref) == "done" for ref in refs)

                wait_until(
                    all_done, DEADLINE_S, "every job done: " + "; ".join(tracker.stuck(refs))
                )
            survivor_log = logs[survivor]

    # Every job is done; the printers started each plate once, on one printer.
    started_twice = {plate: p for plate, p in printers.started.items() if len(p) > 1}
    assert not started_twice, f"plates started more than once: {started_twice}"
    two_printers = {plate: p for plate, p in printers.run_plate.items() if len(set(p)) > 1}
    assert not two_printers, f"plates sent to two printers: {two_printers}"
    assert printers.started, "the printers started no plate"
    # Both controllers did a share of the work before the kill.
    assert all(before_kill.values()), f"jobs accepted per controller: {before_kill}"
    # The survivor took over as leader and handled what came after.
    assert _count(survivor_log, "this controller is now the leader") >= 1
    assert _count(survivor_log, "job accepted") > before_kill[survivor]
    print(
        "jobs accepted before the kill",
        before_kill,
        "plates dispatched before the kill",
        dispatched_before,
        "plates started",
        len(printers.started),
        "run_plate commands",
        sum(len(v) for v in printers.run_plate.values()),
    )
