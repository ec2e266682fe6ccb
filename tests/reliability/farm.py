"""A farm to break: the demo's three makerspaces and nine printers, the controller as its own
process, Mosquitto with persistence, simulated staff and shops, and handles on every part a
fault trial kills, restarts or cuts off.

    with FaultFarm(tmp_path, db_url, FarmOptions(jobs=200, seed=3)) as farm:
        farm.submit()
        farm.wait_printed(0.3)
        farm.kill_controller(); farm.start_controller()
        farm.wait_all_final()
    verdict = farm.verdict()   # tests.reliability.evidence

Agents run in this process (one thread each, the real `Agent`) unless named in
`process_agents`: those run as `makerfarm agent` child processes that can be killed with
SIGKILL. With `bridged_site`, that site's printers talk to their own Mosquitto, bridged to
the central one (the bridge lines `makerfarm broker-config` writes) through a `TcpProxy`
the test can cut.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from controller.config import BrokerAddress
from controller.demo import farm_toml
from controller.demo_farm import MATERIAL_COLOURS, PRINTERS, SHIP_TO, SHOPS, DemoJob, agent_config
from controller.demo_meshes import demo_mesh
from controller.job_tracker import JobTracker, submit_job
from controller.security.broker_config import Bridge, _bridge_lines
from controller.shop_link import ShopLink
from tests.e2e.harness import (
    AgentProcess,
    ControllerProcess,
    Mosquitto,
    RecordingStaff,
    TcpProxy,
    agent_toml,
    wait_until,
)
from tests.reliability.evidence import Verdict, accepted_clears, collect, read_printer

# Small products only: many fit on a plate, so 200 jobs are a few dozen plates.
SMALL_MESHES = ("cube", "keychain_tag", "cable_clip")


@dataclass(frozen=True)
class FarmOptions:
    jobs: int = 200
    seed: int = 1
    speed: float = 8000.0
    max_quantity: int = 1
    process_agents: frozenset[str] = frozenset()
    bridged_site: str | None = None
    offline_grace_s: float = 600.0
    faults: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    speeds: dict[str, float] = field(default_factory=dict)  # per printer, instead of `speed`


def fault_jobs(count: int, seed: int, max_quantity: int) -> list[DemoJob]:
    """`count` jobs of the demo's shops in its five materials, small meshes only."""
    rng = random.Random(seed)
    jobs = []
    for n in range(count):
        material, colour = MATERIAL_COLOURS[n % len(MATERIAL_COLOURS)]
        jobs.append(
            DemoJob(
                shop=SHOPS[n % len(SHOPS)],
                client_ref=f"order-{seed}-{n + 1:04d}",
                mesh=SMALL_MESHES[rng.randrange(len(SMALL_MESHES))],
                material=material,
                colour=colour,
                quantity=rng.randint(1, max_quantity),
                ship_to=SHIP_TO[rng.randrange(len(SHIP_TO))],
            )
        )
    return jobs


class FaultFarm:
    def __init__(self, workdir: Path, db_url: str, options: FarmOptions) -> None:
        self.workdir = workdir
        self.db_url = db_url
        self.options = options
        self.jobs = fault_jobs(options.jobs, options.seed, options.max_quantity)
        self.refs = [job.client_ref for job in self.jobs]
        self.spool_root = workdir / "agents"
        self.central = Mosquitto(workdir / "central")
        self.site_broker: Mosquitto | None = None
        self.proxy: TcpProxy | None = None
        farm_path = workdir / "farm.toml"
        farm_path.write_text(farm_toml())
        self.controller = ControllerProcess(
            [
                "--broker",
                self.central.url,
                "--db",
                db_url,
                "--data",
                str(workdir / "controller"),
                "--farm",
                str(farm_path),
                "--replan-interval",
                "0.5",
                "--offline-grace",
                str(options.offline_grace_s),
            ],
            workdir / "controller.log",
        )
        self.thread_agents: dict[str, Any] = {}
        self.process_agents: dict[str, AgentProcess] = {}
        self.staff: RecordingStaff | None = None
        self.tracker: JobTracker | None = None
        self._stack = ExitStack()

    # -- the farm's parts ----------------------------------------------------------------

    def __enter__(self) -> FaultFarm:
        try:
            self._stack.enter_context(self.central)
            if self.options.bridged_site is not None:
                self._start_site_broker(self.options.bridged_site)
            self.start_controller()
            self._stack.callback(self._stop_controller)
            self._start_agents()
            address = BrokerAddress(host=self.central.host, port=self.central.port)
            self.staff = self._stack.enter_context(RecordingStaff(address))
            self.tracker = self._stack.enter_context(JobTracker(self.central.url))
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _start_site_broker(self, site: str) -> None:
        self.proxy = TcpProxy(self.central.port)
        self._stack.callback(self.proxy.close)
        central = BrokerAddress(
            host="127.0.0.1", port=self.proxy.port, username=f"bridge.{site}", password="x"
        )
        lines = _bridge_lines(Bridge(site=site, central=central))
        # The test's link comes back in seconds, not the production 2-30 s backoff; the
        # keepalive is short so a silent drop would be noticed too.
        lines = [line for line in lines if not line.startswith("restart_timeout")]
        lines += ["restart_timeout 1 1", "keepalive_interval 5"]
        self.site_broker = Mosquitto(self.workdir / f"site-{site}", extra=lines)
        self._stack.enter_context(self.site_broker)

    def _broker_for(self, site: str) -> str:
        if self.site_broker is not None and site == self.options.bridged_site:
            return self.site_broker.url
        return self.central.url

    def _config(self, printer: str) -> Any:
        site = next(s for pid, s, *_ in PRINTERS if pid == printer)
        speed = self.options.speeds.get(printer, self.options.speed)
        config = agent_config(printer, self._broker_for(site), self.spool_root, speed)
        faults = self.options.faults.get(printer)
        if faults:
            backend = config.backend.model_copy(update={"faults": faults})  # type: ignore[attr-defined]
            config = config.model_copy(update={"backend": backend})  # type: ignore[attr-defined]
        return config

    def _start_agents(self) -> None:
        from agent.agent import Agent
        from agent.config import AgentConfig

        for printer, *_ in PRINTERS:
            config = AgentConfig.model_validate(self._config(printer).model_dump())
            if printer in self.options.process_agents:
                path = self.workdir / f"agent-{printer}.toml"
                path.write_text(agent_toml(config.model_copy(update={"log_level": "warning"})))
                agent = AgentProcess(path, self.workdir / f"agent-{printer}.log")
                agent.start()
                self.process_agents[printer] = agent
                self._stack.callback(agent.terminate)
            else:
                self.thread_agents[printer] = Agent(config)
                self.thread_agents[printer].start()
                self._stack.callback(self.thread_agents[printer].stop)

    # -- faults ----------------------------------------------------------------------------

    def start_controller(self) -> float:
        """Start the controller; seconds until it said it is running."""
        began = time.monotonic()
        self.controller.start()
        self.controller.wait_until_logged('"controller running"', 90)
        return time.monotonic() - began

    def kill_controller(self) -> None:
        self.controller.kill()

    def _stop_controller(self) -> None:
        code = self.controller.terminate()
        if code not in (0, -9):
            raise RuntimeError(
                f"the controller exited with {code}: "
                + self.controller.log_path.read_text(errors="replace")[-3000:]
            )

    def restart_broker(self, down_s: float) -> None:
        self.central.restart(down_s)

    def kill_agent(self, printer: str) -> None:
        self.process_agents[printer].kill()

    def start_agent(self, printer: str) -> None:
        self.process_agents[printer].start()

    # -- the flow ---------------------------------------------------------------------------

    def submit(self) -> None:
        with ShopLink(self.central.url, None) as link:
            for job in self.jobs:
                submit_job(link, job, demo_mesh(job.mesh).stl)

    @property
    def total_parts(self) -> int:
        return sum(job.quantity for job in self.jobs)

    def printed(self) -> int:
        assert self.tracker is not None
        return self.tracker.part_totals(self.refs)["printed"]

    def wait_printed(self, fraction: float, timeout_s: float = 180.0) -> None:
        assert self.tracker is not None
        wanted = int(self.total_parts * fraction)
        if not self.tracker.wait_for(lambda: self.printed() >= wanted, timeout_s):
            raise AssertionError(
                f"only {self.printed()} of {wanted} parts printed after {timeout_s:g} s:\n"
                + "\n".join(self.tracker.stuck(self.refs)[:20])
            )

    def statuses_seen(self) -> int:
        assert self.tracker is not None
        with self.tracker._changed:  # re-entrant: also called from inside wait_for
            return sum(len(h) for h in self.tracker.history.values())

    def wait_for_statuses(self, count: int, timeout_s: float) -> float | None:
        """Seconds until `count` more job statuses arrived (the farm moved), or None."""
        assert self.tracker is not None
        wanted = self.statuses_seen() + count
        began = time.monotonic()
        if self.tracker.wait_for(lambda: self.statuses_seen() >= wanted, timeout_s):
            return time.monotonic() - began
        return None

    def wait_for_news(self, timeout_s: float) -> float | None:
        """Seconds until the next job status arrives (the farm moves again), or None."""
        return self.wait_for_statuses(1, timeout_s)

    def wait_all_final(self, timeout_s: float = 240.0) -> bool:
        assert self.tracker is not None
        return self.tracker.wait_for(lambda: self.tracker.all_final(self.refs), timeout_s)  # type: ignore[union-attr]

    def wait_until(self, condition: Callable[[], bool], timeout_s: float, what: str) -> None:
        wait_until(condition, timeout_s, what)

    def stuck(self) -> list[str]:
        assert self.tracker is not None
        return self.tracker.stuck(self.refs)

    # -- the evidence -----------------------------------------------------------------------

    def verdict(self) -> Verdict:
        assert self.tracker is not None and self.staff is not None
        printers = {pid: read_printer(self.spool_root / pid) for pid, *_ in PRINTERS}
        history = {ref: list(self.tracker.history.get(ref, [])) for ref in self.refs}
        quantities = {job.client_ref: job.quantity for job in self.jobs}
        cleared = accepted_clears(self.db_url, list(self.staff.clears_sent))
        return collect(self.db_url, printers, history, quantities, cleared)


class Duplicator:
    """Delivers messages twice, the way QoS 1 may: every submit, agent event, printer state,
    staff command and controller command is published again with the same payload (same
    ids), some at once and some after a random delay (so a duplicate may arrive after what
    followed it). States are re-sent without the retain flag, as a redelivery would be."""

    TOPICS = (
        "makerfarm/v1/shops/+/jobs/submit",
        "makerfarm/v1/sites/+/printers/+/events",
        "makerfarm/v1/sites/+/printers/+/state",
        "makerfarm/v1/sites/+/printers/+/cmd",
        "makerfarm/v1/sites/+/staff/cmd",
    )

    def __init__(self, broker: Mosquitto, seed: int, max_delay_s: float = 2.0) -> None:
        self._hash = hashlib.sha256
        self._random = random.Random(seed)
        self._max_delay_s = max_delay_s
        self._lock = threading.Lock()
        self._seen: set[bytes] = set()
        self._timers: list[threading.Timer] = []
        self._ready = threading.Event()
        self.sent: Counter[str] = Counter()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"duplicator-{seed}")
        self._client.on_connect = lambda client, *_: client.subscribe(
            [(topic, 1) for topic in self.TOPICS]
        )
        self._client.on_subscribe = lambda *_: self._ready.set()
        self._client.on_message = self._on_message
        self._broker = broker

    def __enter__(self) -> Duplicator:
        self._client.connect(self._broker.host, self._broker.port, keepalive=30)
        self._client.loop_start()
        if not self._ready.wait(10):
            raise RuntimeError("the duplicator could not subscribe")
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()
        self._client.disconnect()
        self._client.loop_stop()

    def _on_message(self, client: Any, userdata: object, message: Any) -> None:
        payload = bytes(message.payload)
        if not payload:
            return
        key = self._hash(message.topic.encode() + b"\0" + payload).digest()
        with self._lock:
            if key in self._seen:
                return  # our own copy coming back, or the broker's redelivery
            self._seen.add(key)
            delay = 0.0 if self._random.random() < 0.5 else self._random.uniform(0.1, 2.0)
            kind = "staff" if "/staff/" in message.topic else message.topic.rsplit("/", 1)[-1]
            timer = threading.Timer(delay, self._send, (message.topic, payload, kind))
            timer.daemon = True
            self._timers.append(timer)
        timer.start()

    def _send(self, topic: str, payload: bytes, kind: str) -> None:
        self._client.publish(topic, payload, qos=1)
        with self._lock:
            self.sent[kind] += 1
