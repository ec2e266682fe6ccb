"""End-to-end latency and throughput of the farm: a real mosquitto, `makerfarm controller` as
its own process (SQLite in a temporary directory), the demo's nine simulated printers and
simulated staff in this process.

Measures, and prints as a table:
- submit -> accepted: from publishing a JobSubmit to its `accepted` status arriving, one job
  at a time on an idle farm (p50, p99);
- submit -> dispatched: from publishing a JobSubmit to the first `cmd.run_plate` carrying
  one of its parts, one job at a time on an idle farm (p50, p99);
- burst: 1,000 submissions published back to back (one shop, one mesh, quantity 1), and
  accepted jobs per second from the first publish to the last `accepted`.

Run from the repository root: `.venv/bin/python bench/e2e_bench.py [--burst 1000]
[--samples 30]`. Needs `mosquitto` (apt-get install -y mosquitto).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from controller.config import BrokerAddress  # noqa: E402
from controller.demo import DemoPrinters, farm_toml  # noqa: E402
from controller.demo_farm import DemoJob  # noqa: E402
from controller.demo_meshes import demo_mesh  # noqa: E402
from controller.demo_staff import SimulatedStaff  # noqa: E402
from controller.job_tracker import JobTracker, submit_job  # noqa: E402
from controller.shop_link import ShopLink  # noqa: E402
from protocol import topics  # noqa: E402
from protocol.codec import decode  # noqa: E402
from protocol.messages.commands import RunPlate  # noqa: E402
from protocol.states import JobState  # noqa: E402

SPEED = 4000.0
BURST_SHOPS = 20
KEEP_LOG: Path | None = None
WAIT_S = 120.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def mosquitto(workdir: Path) -> Iterator[BrokerAddress]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = _free_port()
    config = workdir / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\n"
        "persistence false\nmax_queued_messages 100000\n"
    )
    proc = subprocess.Popen(
        [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("mosquitto did not start") from None
                proc.poll()
        yield BrokerAddress(host="127.0.0.1", port=port)
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def controller(address: BrokerAddress, workdir: Path) -> Iterator[None]:
    farm = workdir / "farm.toml"
    farm.write_text(farm_toml())
    log = workdir / "controller.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "makerfarm_cli",
                "controller",
                "--broker",
                address.url,
                "--data",
                str(workdir / "data"),
                "--farm",
                str(farm),
                "--replan-interval",
                "0.5",
                "--log-level",
                "info",
            ],
            cwd=REPO,
            stdout=out,
            stderr=out,
        )
    try:
        _wait_for_fleet_summary(address)
        yield
    finally:
        proc.terminate()
        proc.wait(60)
        if KEEP_LOG is not None:
            shutil.copy(log, KEEP_LOG)


def _wait_for_fleet_summary(address: BrokerAddress, timeout_s: float = 120.0) -> None:
    """The controller is up once it publishes its (retained) queue summary."""
    seen = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.on_connect = lambda c, *_: c.subscribe(topics.fleet_queue_topic(), 1)
    client.on_message = lambda *_: seen.set()
    client.connect(address.host, address.port)
    client.loop_start()
    try:
        if not seen.wait(timeout_s):
            raise RuntimeError(f"the controller did not come up within {timeout_s:g} s")
    finally:
        client.disconnect()
        client.loop_stop()


class DispatchWatch:
    """The time each part id was first named in a cmd.run_plate."""

    def __init__(self, address: BrokerAddress) -> None:
        self.first_seen: dict[str, float] = {}
        self._lock = threading.Condition()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self._ready = threading.Event()
        self._client.on_connect = lambda c, *_: c.subscribe(
            topics.topic_filter(topics.TopicKind.PRINTER_CMD), 1
        )
        self._client.on_subscribe = lambda *_: self._ready.set()
        self._client.on_message = self._on_message
        self._client.connect(address.host, address.port)
        self._client.loop_start()
        self._ready.wait(10)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        try:
            command = decode(bytes(msg.payload), RunPlate)
        except Exception:
            return
        now = time.monotonic()
        with self._lock:
            for part in command.parts:
                self.first_seen.setdefault(part.part_id, now)
            self._lock.notify_all()

    def wait_for(self, job_id: str, timeout_s: float) -> float | None:
        """When the first run_plate with a part of `job_id` was seen (None: not in time)."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while True:
                times = [t for part, t in self.first_seen.items() if part.startswith(job_id + "-")]
                left = deadline - time.monotonic()
                if times or left <= 0:
                    return min(times) if times else None
                self._lock.wait(left)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def _answered(tracker: JobTracker, client_ref: str) -> bool:
    return tracker.state_of(client_ref) not in ("submitted", "received")


def _done(tracker: JobTracker, client_ref: str) -> bool:
    return tracker.state_of(client_ref) == "done"


def _job(n: int, tag: str, shops: int = 1) -> DemoJob:
    return DemoJob(
        shop=f"bench-shop-{n % shops}",
        client_ref=f"{tag}-{n:05d}",
        mesh="cube",
        material="PLA",
        colour="black",
        quantity=1,
        ship_to=(52.52, 13.40),
    )


def measure_idle(address: BrokerAddress, samples: int) -> tuple[list[float], list[float]]:
    accepted, dispatched = [], []
    mesh = demo_mesh("cube").stl
    tag = "idle-" + uuid.uuid4().hex[:6]
    watch = DispatchWatch(address)
    with JobTracker(address.url) as tracker, ShopLink(address.url, None) as link:
        for n in range(samples):
            job = _job(n, tag)
            started = time.monotonic()
            submit_job(link, job, mesh)
            ok = tracker.wait_for(partial(_answered, tracker, job.client_ref), WAIT_S)
            status = tracker.latest(job.client_ref)
            if not ok or status is None or status.state == JobState.REJECTED:
                stuck = tracker.stuck([job.client_ref])
                raise RuntimeError(f"{job.client_ref} not accepted: {stuck}")
            index = [s.state for s in tracker.history[job.client_ref]].index(JobState.ACCEPTED)
            accepted.append(tracker.arrived_at[job.client_ref][index] - started)
            seen = watch.wait_for(status.job_id, WAIT_S)
            if seen is None:
                raise RuntimeError(f"{job.client_ref} was never dispatched")
            dispatched.append(seen - started)
            # let the farm go idle again before the next sample
            tracker.wait_for(partial(_done, tracker, job.client_ref), WAIT_S)
    watch.close()
    return accepted, dispatched


def measure_burst(address: BrokerAddress, count: int) -> tuple[float, int]:
    mesh = demo_mesh("cube").stl
    tag = "burst-" + uuid.uuid4().hex[:6]
    # Spread over shops, as a real burst is: each shop stays inside its own submit rate
    # (controller.security.limits), so the figure is the controller's, not the limiter's.
    jobs = [_job(n, tag, BURST_SHOPS) for n in range(count)]
    refs = [job.client_ref for job in jobs]
    with JobTracker(address.url) as tracker, ShopLink(address.url, None) as link:
        started = time.monotonic()
        for job in jobs:
            submit_job(link, job, mesh)
        done = tracker.wait_for(
            lambda: all(tracker.state_of(r) not in ("submitted", "received") for r in refs), 600
        )
        if not done:
            raise RuntimeError("the burst was not answered within 600 s")
        accepted_at = [_accepted_at(tracker, r) for r in refs]
        times = [t for t in accepted_at if t is not None]
        if not times:
            raise RuntimeError("no job of the burst was accepted")
    return len(times) / (max(times) - started), len(times)


def _accepted_at(tracker: JobTracker, client_ref: str) -> float | None:
    states = [status.state for status in tracker.history[client_ref]]
    if JobState.ACCEPTED not in states:
        return None
    return tracker.arrived_at[client_ref][states.index(JobState.ACCEPTED)]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--controller-log", type=Path, help="keep the controller's JSON log here")
    args = parser.parse_args()
    global KEEP_LOG
    KEEP_LOG = args.controller_log
    with tempfile.TemporaryDirectory(prefix="makerfarm-bench-") as tmp:
        workdir = Path(tmp)
        with (
            mosquitto(workdir) as address,
            controller(address, workdir),
            DemoPrinters(address, workdir / "agents", SPEED),
            SimulatedStaff(address),
        ):
            accepted, dispatched = measure_idle(address, args.samples)
            rate, count = measure_burst(address, args.burst)
    print(f"{'figure':<38} {'p50':>9} {'p99':>9} {'mean':>9}")
    for name, values in (
        ("submit -> accepted (idle farm), s", accepted),
        ("submit -> dispatched (idle farm), s", dispatched),
    ):
        print(
            f"{name:<38} {_pct(values, 0.5):9.3f} {_pct(values, 0.99):9.3f} "
            f"{statistics.fmean(values):9.3f}"
        )
    print(
        f"{'burst: accepted jobs per second':<38} {rate:9.1f}   ({count} of {args.burst} "
        f"jobs accepted, {BURST_SHOPS} shops)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
