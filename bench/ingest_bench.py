"""How many printers reporting state at 1 Hz one controller keeps up with, on this machine.

    .venv/bin/python bench/ingest_bench.py [--printers 1000 2000 5000] [--seconds 20]

For each farm size: a fresh mosquitto, the controller (`makerfarm controller`, a subprocess,
SQLite), and `makerfarm swarm` (a subprocess) with that many printers, each reporting its
retained state every second and its temperatures every five. Twenty more printers are
probes this script drives itself: each changes state (idle <-> maintenance) once a second,
and the script times
  - status -> database: from the publish until the row shows the new state's sequence
    (SQLite polled every 10 ms, so up to 10 ms of this is the poll), and
  - status -> TUI: from the publish until the controller's retained fleet summary for that
    printer (what `makerfarm tui` shows) arrives with the new state.
A size is "kept up" when every probe change reached both within 5 s. The controller's CPU
share comes from /proc, and so do the swarm's and mosquitto's (all share this machine's
cores: a swarm near 100 % of a core is itself the limit). Tests never assert timings; this
prints them.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from controller.sim_farm import farm_toml, percentile, roster, sim_farm
from controller.sim_processes import ControllerProcess, MosquittoProcess, SwarmProcess
from protocol import PrinterState, PrinterStatus, decode, encode
from protocol.messages.fleet import FleetPrinterSummary
from protocol.topics import fleet_printer_topic, printer_state_topic

PROBES = 20
PER_SITE = 100
MISSED_AFTER_S = 5.0
WARM_UP_S = 8.0
STARTUP_LIMIT_S = 180.0


@dataclass
class Probe:
    site: str
    printer: str
    profile: str
    client: mqtt.Client
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    sequence: int = 0
    state: PrinterStatus = PrinterStatus.IDLE
    published: dict[int, tuple[float, PrinterStatus]] = field(default_factory=dict)


class Probes:
    """Printers driven by the bench: they change state and time the change's arrival."""

    def __init__(self, broker_port: int, members: list[dict[str, str]], db_path: Path) -> None:
        self.db_path = db_path
        self.to_db: list[float] = []
        self.to_tui: list[float] = []
        self.changes = 0
        self._db_seen: dict[str, int] = defaultdict(int)
        self._tui_seen: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()
        self.probes = {m["printer"]: self._probe(broker_port, m) for m in members}
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll_db, daemon=True)
        self._poller.start()

    def _probe(self, port: int, member: dict[str, str]) -> Probe:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"bench-probe-{member['printer']}"
        )
        probe = Probe(member["site"], member["printer"], member["profile"], client)
        client.on_message = lambda c, u, m: self._on_summary(probe, bytes(m.payload))
        client.connect("127.0.0.1", port)
        client.subscribe(fleet_printer_topic(probe.site, probe.printer), qos=1)
        client.loop_start()
        return probe

    def change_all(self, measured: bool) -> None:
        for probe in self.probes.values():
            probe.sequence += 1
            probe.state = (
                PrinterStatus.MAINTENANCE
                if probe.state is PrinterStatus.IDLE
                else PrinterStatus.IDLE
            )
            state = PrinterState(
                state=probe.state,
                profile_id=probe.profile,
                agent_version="bench-probe",
                at=datetime.now(UTC),
                run_id=probe.run_id,
                connection=1,
                sequence=probe.sequence,
            )
            with self._lock:
                if measured:
                    probe.published[probe.sequence] = (time.monotonic(), probe.state)
                    self.changes += 1
            probe.client.publish(
                printer_state_topic(probe.site, probe.printer), encode(state), qos=1, retain=True
            )

    def _on_summary(self, probe: Probe, payload: bytes) -> None:
        now = time.monotonic()
        summary = decode(payload, FleetPrinterSummary)
        with self._lock:
            for seq, (at, state) in sorted(probe.published.items()):
                if seq > self._tui_seen[probe.printer] and state == summary.state:
                    newest = max(
                        s
                        for s, (_, st) in probe.published.items()
                        if st == summary.state and s <= probe.sequence
                    )
                    if seq == newest:
                        self.to_tui.append(now - at)
                        self._tui_seen[probe.printer] = seq
                    break

    def _poll_db(self) -> None:
        ids = list(self.probes)
        query = f"SELECT id, state_seq FROM printers WHERE id IN ({','.join('?' * len(ids))})"
        while not self._stop.is_set():
            try:
                with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=1) as db:
                    while not self._stop.wait(0.01):
                        now = time.monotonic()
                        for printer, seq in db.execute(query, ids):
                            self._db_row(printer, int(seq), now)
            except sqlite3.Error:
                self._stop.wait(0.1)

    def _db_row(self, printer: str, seq: int, now: float) -> None:
        with self._lock:
            if seq <= self._db_seen[printer]:
                return
            published = self.probes[printer].published
            for s in range(self._db_seen[printer] + 1, seq + 1):
                if s in published and s == seq:
                    self.to_db.append(now - published[s][0])
            self._db_seen[printer] = seq

    def close(self) -> None:
        self._stop.set()
        self._poller.join(timeout=5)
        for probe in self.probes.values():
            probe.client.loop_stop()
            probe.client.disconnect()


def _wait_all_reported(
    db_path: Path, printers: int, keep_probes_alive: Callable[[bool], None]
) -> float:
    """Wait (at most STARTUP_LIMIT_S) until the swarm's printers all have a state row;
    the seconds it took."""
    began = time.monotonic()
    query = "SELECT count(*) FROM printers WHERE state_seq > 0"
    while time.monotonic() - began < STARTUP_LIMIT_S:
        keep_probes_alive(False)
        try:
            with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=1) as db:
                if db.execute(query).fetchone()[0] >= printers:
                    break
        except sqlite3.Error:
            pass  # the controller has not created the database yet
        time.sleep(1.0)
    return time.monotonic() - began


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, in clock ticks


def measure(printers: int, seconds: float, workdir: Path) -> dict[str, object]:
    sites = max(1, (printers + PROBES) // PER_SITE)
    per_site = -(-(printers + PROBES) // sites)
    farm = sim_farm(sites, per_site)
    members = roster(farm)[: printers + PROBES]
    probes, swarm_members = members[:PROBES], members[PROBES:]
    (workdir / "farm.toml").write_text(farm_toml(farm))
    (workdir / "roster.json").write_text(json.dumps(swarm_members))
    with MosquittoProcess(workdir / "mosquitto") as broker:
        url = f"mqtt://127.0.0.1:{broker.port}"
        with (
            ControllerProcess(url, workdir, workdir / "farm.toml", None) as controller,
            SwarmProcess(
                url, workdir / "roster.json", 1.0, 0.0, 0, log_path=workdir / "swarm.log"
            ) as swarm,
        ):
            bench = Probes(broker.port, probes, workdir / "controller" / "makerfarm.db")
            try:
                # Steady state first: every printer has reported (a farm of thousands takes
                # a while to connect and be provisioned), then WARM_UP_S more.
                reported = _wait_all_reported(
                    workdir / "controller" / "makerfarm.db", printers + PROBES, bench.change_all
                )
                warm_until = time.monotonic() + WARM_UP_S
                while time.monotonic() < warm_until:
                    bench.change_all(measured=False)
                    time.sleep(1.0)
                assert controller.proc and swarm.proc and broker.proc
                pids = [p.pid for p in (controller.proc, swarm.proc, broker.proc)]
                cpu_before, started = [cpu_seconds(pid) for pid in pids], time.monotonic()
                end = started + seconds
                while time.monotonic() < end:
                    bench.change_all(measured=True)
                    time.sleep(1.0)
                elapsed = time.monotonic() - started
                cpu = [
                    (cpu_seconds(pid) - before) / elapsed
                    for pid, before in zip(pids, cpu_before, strict=True)
                ]
                time.sleep(MISSED_AFTER_S)
            finally:
                bench.close()
    received, db_time = _controller_totals(workdir / "controller.log")
    missed_db = bench.changes - len(bench.to_db)
    missed_tui = bench.changes - len(bench.to_tui)
    return {
        "printers": printers,
        "probe_changes": bench.changes,
        "startup_s": round(reported, 1),
        "db_p50_ms": _ms(percentile(bench.to_db, 0.5)),
        "db_p99_ms": _ms(percentile(bench.to_db, 0.99)),
        "tui_p50_ms": _ms(percentile(bench.to_tui, 0.5)),
        "tui_p99_ms": _ms(percentile(bench.to_tui, 0.99)),
        "missed_db": missed_db,
        "missed_tui": missed_tui,
        "controller_cpu": round(cpu[0], 2),
        "swarm_cpu": round(cpu[1], 2),
        "broker_cpu": round(cpu[2], 2),
        "load_average": round(os.getloadavg()[0], 2),
        "states_received": received,
        "db_time": db_time,
        "kept_up": missed_db == 0
        and missed_tui == 0
        and max(bench.to_db + bench.to_tui, default=99) < MISSED_AFTER_S,
    }


def _controller_totals(log_path: Path) -> tuple[dict[str, int], dict[str, str]]:
    """What the controller logged at stop: printer states by how it sorted them, and its
    busiest database operations."""
    received: dict[str, int] = {}
    db_time: dict[str, str] = {}
    for line in log_path.read_text(errors="replace").splitlines():
        if '"printer states received"' in line:
            entry = json.loads(line)
            received = {k: int(entry[k]) for k in ("heartbeat", "news", "stale") if k in entry}
        elif '"database time by operation"' in line:
            entry = json.loads(line)
            db_time = {k: v for k, v in entry.items() if isinstance(v, str) and " calls, " in v}
    return received, db_time


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--printers", type=int, nargs="+", default=[1000, 2000, 5000])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    rows = []
    for count in args.printers:
        with tempfile.TemporaryDirectory(prefix="ingest-bench-") as workdir:
            rows.append(measure(count, args.seconds, Path(workdir)))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    header = (
        f"{'printers':>8} {'changes':>8} {'db p50':>8} {'db p99':>8} {'tui p50':>8} "
        f"{'tui p99':>8} {'missed':>7} {'ctl CPU':>8} {'swarm':>6} {'broker':>6} "
        f"{'kept up':>8}"
    )
    print("status latency at 1 Hz per printer (ms; one controller, mosquitto, SQLite)")
    print(header)
    for row in rows:
        cells = [
            f"{row[k]:8.1f}" if row[k] is not None else f"{'-':>8}"
            for k in ("db_p50_ms", "db_p99_ms", "tui_p50_ms", "tui_p99_ms")
        ]
        missed = f"{row['missed_db']}/{row['missed_tui']}"
        print(
            f"{row['printers']:8d} {row['probe_changes']:8d} {' '.join(cells)} "
            f"{missed:>7} {row['controller_cpu']:8.0%} {row['swarm_cpu']:6.0%} "
            f"{row['broker_cpu']:6.0%} {row['kept_up']!s:>8}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
