"""How close the Marlin back-end comes to what a serial link can carry, and what it costs.

Streams the first commands of a real PrusaSlicer program (the Benchy of
../shared/reference) to the Marlin peer on a pty that delays every byte as a
115200 or 250000 baud link would (8N1: 10 bits a byte), with and without injected
faults, and prints lines per second against the link's capacity:

- "ok-paced capacity": with one line in flight each line and its `ok` cross the wire
  one after the other, so the link carries at most baud/10 / (line bytes + 3) lines/s;
- "one-way capacity": the outgoing wire alone, baud/10 / line bytes: what the link
  can carry, which only lines sent ahead of their answers can approach.

Two firmwares: a plain Marlin (`ok` alone: one line in flight) and one built with
ADVANCED_OK (`ok N<line> P<planner> B<queue>`: the back-end sends ahead as far as the
firmware's 128-byte receive buffer allows). The peer is a Marlin with RX_BUFFER_SIZE
128 and BUFSIZE 4 that loses bytes past its receive buffer.

The peer runs in a child process; the link figures drive the back-end in this process
(CPU as a share of one core: the back-end's alone). Idle is the connected printer
reporting temperatures every 2 s.

Then the agent process itself: `makerfarm agent` started as a Pi runs it (a Marlin
back-end on the pty peer, a real mosquitto broker), with this bench as its controller.
It is sent whole plates (the Benchy, labelled, and a plate of --big-mb megabytes built
from the Benchy's layers) as gzip'd blobs with a `cmd.run_plate`; the agent stores the
blob, unpacks it, runs the safety check, and streams it at 250000 baud with ADVANCED_OK
and a fault every 500 lines; after --stream-s seconds the bench cancels the plate. Its
CPU (utime + stime of /proc/PID/stat) and memory (VmRSS, and VmHWM, the peak, of
/proc/PID/status) are read from outside, after each stage: idle and connected, blob
stored, plate accepted (checked and started), streaming, idle again. Without a
MALLOC_ARENA_MAX (a plain process), and with MALLOC_ARENA_MAX=2 as the shipped systemd
unit sets it.

    .venv/bin/python bench/agent_bench.py [--lines 4000] [--stream-s 15] [--big-mb 50]
        [--program ../shared/reference/gcode/benchy_prusa.gcode]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from agent.backends.base import BackendEvent, LinkChanged, PlateFinished, PlateToRun  # noqa: E402
from agent.backends.marlin import MarlinOptions, MarlinPrinter  # noqa: E402
from agent.backends.marlin.link import frame  # noqa: E402
from agent.backends.marlin.streamer import clean_line  # noqa: E402
from agent.journal import PrintJournal  # noqa: E402
from firmware_profiles import load_profile  # noqa: E402
from protocol import (  # noqa: E402
    CancelPlate,
    EventKind,
    PlatePart,
    PrinterEvent,
    PrinterState,
    RunPlate,
    compress_gcode,
    decode,
    encode,
    sha256_hex,
)
from protocol.topics import (  # noqa: E402
    printer_cmd_topic,
    printer_events_topic,
    printer_gcode_topic,
    printer_state_topic,
)
from tests.support.mosquitto import run_mosquitto  # noqa: E402

PROGRAM = REPO.parent / "shared" / "reference" / "gcode" / "benchy_prusa.gcode"
LINK_FAULTS = ("checksum", "drop", "lost_ok")
SITE, PRINTER, PROFILE, LABEL = "bench", "marlin-1", "generic-220", "benchy"
AGENT_BAUD = 250_000
WAIT_S = 120.0


@dataclass(frozen=True)
class Case:
    baudrate: int
    fault_every: int
    advanced_ok: bool


def _peer(connection: Any, baudrate: int, fault_every: int, advanced_ok: bool) -> None:
    from tests.support.marlin_peer import MarlinPeer

    peer = MarlinPeer(
        baudrate=baudrate,
        fault_every=fault_every,
        faults=LINK_FAULTS,
        report_speedup=1.0,
        advanced_ok=advanced_ok,
        keepalive_s=0.2,
    ).start()
    connection.send(peer.path)
    while connection.recv() == "count":  # lines executed so far; anything else: done
        connection.send(len(peer.executed))
    connection.send(peer.counters.overflow_bytes)
    peer.close()


class Peer:
    """The Marlin peer in a child process, so its work is not counted as the agent's."""

    def __init__(self, case: Case) -> None:
        self._parent, child = multiprocessing.Pipe()
        self._process = multiprocessing.Process(
            target=_peer, args=(child, case.baudrate, case.fault_every, case.advanced_ok)
        )
        self._process.start()
        self.path: str = self._parent.recv()

    def executed(self) -> int:
        self._parent.send("count")
        return int(self._parent.recv())

    def close(self) -> int:
        """Stop the peer; the bytes it lost past its receive buffer (-1: no answer)."""
        self._parent.send("done")
        overflow = int(self._parent.recv()) if self._parent.poll(10) else -1
        self._process.join(10)
        return overflow


class Events:
    def __init__(self) -> None:
        self.connected = threading.Event()
        self.finished = threading.Event()

    def __call__(self, event: BackendEvent) -> None:
        if isinstance(event, LinkChanged) and event.connected:
            self.connected.set()
        elif isinstance(event, PlateFinished):
            self.finished.set()


def bench_commands(lines: int, program: Path) -> list[str]:
    """The first `lines` commands of the program, without heating and homing: the link
    figures measure the link."""
    commands: list[str] = []
    with open(program, encoding="utf-8") as source:
        for raw in source:
            command = clean_line(raw)
            if command and command.split()[0] not in (
                "M109",
                "M190",
                "G28",
                "G29",
                "M104",
                "M140",
                "G4",
            ):
                commands.append(command)
            if len(commands) >= lines:
                break
    return commands


def bytes_per_line(commands: list[str]) -> float:
    """Mean size of a framed line (`N<n> <command>*<checksum>`) of these commands."""
    return sum(len(frame(i + 1, command)) for i, command in enumerate(commands)) / len(commands)


# -- the link: the back-end in this process ----------------------------------------------


def run_case(
    case: Case, program: Path, commands: list[str], work: Path, idle_s: float
) -> dict[str, float]:
    peer = Peer(case)
    events = Events()
    profile = load_profile(PROFILE)
    profile = profile.model_copy(
        update={"serial": profile.serial.model_copy(update={"reset_on_connect": False})}
    )
    printer = MarlinPrinter(
        MarlinOptions(port=peer.path, baudrate=case.baudrate, answer_timeout_s=1.0),
        profile,
        events,
        PrintJournal(work / "journal.jsonl"),
    )
    try:
        printer.connect()
        if not events.connected.wait(30):
            raise SystemExit("the back-end did not connect to the peer")
        idle_cpu = _cpu_share(idle_s)
        plate = PlateToRun("bench", "0" * 64, "PLA", (LABEL,), 0.0, 0.0, 0.0)
        cpu0, wall0 = time.process_time(), time.monotonic()
        printer.start(program, plate)
        if not events.finished.wait(600):
            raise SystemExit("the plate did not finish")
        wall = time.monotonic() - wall0
        cpu = time.process_time() - cpu0
        link = printer.session.link if printer.session else None
        counters = link.counters if link else None
        timeout_s = link.timeout_s if link else 0.0
    finally:
        printer.close()
        overflow = peer.close()
    per_line = bytes_per_line(commands)
    bytes_s = case.baudrate / 10
    rate = len(commands) / wall
    return {
        "lines_s": rate,
        "ok_paced": rate / (bytes_s / (per_line + 3)),
        "one_way": rate / (bytes_s / per_line),
        "cpu": cpu / wall,
        "idle_cpu": idle_cpu,
        "resent": float(counters.resent if counters else 0),
        "timeouts": float(counters.timeouts if counters else 0),
        "timeout_s": timeout_s,
        "overflow": float(overflow),
        "bytes_per_line": per_line,
    }


def _cpu_share(seconds: float) -> float:
    cpu0, wall0 = time.process_time(), time.monotonic()
    time.sleep(seconds)
    return (time.process_time() - cpu0) / (time.monotonic() - wall0)


def link_table(args: argparse.Namespace, work: Path) -> None:
    cases = [
        Case(baud, faults, advanced)
        for baud in (115_200, 250_000)
        for advanced in (False, True)
        for faults in (0, 500)
    ]
    print(
        f"{args.lines} commands of {args.program.name}; faults: one of "
        f"{', '.join(LINK_FAULTS)} every 500 lines (1 s answer timeout)"
    )
    print(
        f"{'baud':>7} {'faults':>7} {'oks':>8} {'lines/s':>8} {'ok-paced':>9} "
        f"{'one-way':>8} {'resent':>6} {'timeouts':>8} {'timeout':>7} {'lost B':>6} "
        f"{'CPU stream':>10} {'CPU idle':>8}"
    )
    program = work / "link.gcode"
    commands = bench_commands(args.lines, args.program)
    program.write_text("\n".join(commands) + "\n")
    for case in cases:
        figures = run_case(case, program, commands, work, args.idle_s)
        faults = f"1/{case.fault_every}" if case.fault_every else "none"
        oks = "N P B" if case.advanced_ok else "plain"
        print(
            f"{case.baudrate:>7} {faults:>7} {oks:>8} "
            f"{figures['lines_s']:>8.0f} {figures['ok_paced']:>8.1%} "
            f"{figures['one_way']:>8.1%} {figures['resent']:>6.0f} "
            f"{figures['timeouts']:>8.0f} {figures['timeout_s']:>6.2f}s "
            f"{figures['overflow']:>6.0f} "
            f"{figures['cpu']:>10.1%} {figures['idle_cpu']:>8.1%}"
        )
    print(
        f"line size {bytes_per_line(commands):.1f} bytes with N and checksum; CPU: the "
        "back-end's, as a share of one core"
    )
    print(
        "lost B: bytes the peer lost past its receive buffer; timeout: the adaptive "
        "answer timeout at the end (M113 keep-alive 0.2 s)"
    )


# -- the agent process ---------------------------------------------------------------------


def labelled_plate(source: Path, target: Path, megabytes: float | None) -> int:
    """Write the program of `source` with its one object labelled (M486), so the agent
    accepts it; with `megabytes`, its layers again and again until the file is that big.
    Returns the file's size."""
    text = source.read_text(encoding="utf-8")
    start = text.index(";LAYER_CHANGE")
    end = text.rindex(";LAYER_CHANGE")
    end = text.index("\n;", text.index("\nG1", end))  # the last layer's first moves
    head, layers, tail = text[:start], text[start:end], text[end:]
    with open(target, "w", encoding="utf-8") as out:
        out.write(f'M486 T1\nM486 S0 A"{LABEL}"\n{head}{layers}')
        size = len(head) + len(layers)
        while megabytes is not None and size < megabytes * 1e6:
            out.write(layers)
            size += len(layers)
        out.write(f"\nM486 S-1\n{tail}")
    return target.stat().st_size


class Controller:
    """Plays the controller on the broker: sends plates, collects the agent's events."""

    def __init__(self, port: int) -> None:
        self.events: list[PrinterEvent] = []
        self.state: str | None = None
        self._changed = threading.Condition()
        self._subscribed = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-controller")
        self._client.on_connect = lambda client, *_: client.subscribe(
            [(printer_state_topic(SITE, PRINTER), 1), (printer_events_topic(SITE, PRINTER), 1)]
        )
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.on_message = self._on_message
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        if not self._subscribed.wait(30):
            raise SystemExit("the bench could not subscribe on the broker")

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._changed:
            if message.topic.endswith("/events"):
                self.events.append(decode(bytes(message.payload), PrinterEvent))
            elif message.payload:
                self.state = decode(bytes(message.payload), PrinterState).state.value
            self._changed.notify_all()

    def wait_for(self, test: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
        with self._changed:
            if not self._changed.wait_for(test, timeout):
                kinds = [event.kind.value for event in self.events]
                raise SystemExit(f"the agent did not get to {what}: events {kinds}")

    def event(self, *kinds: EventKind) -> PrinterEvent | None:
        return next((e for e in self.events if e.kind in kinds), None)

    def send_blob(self, blob: bytes) -> None:
        topic = printer_gcode_topic(SITE, PRINTER, sha256_hex(blob))
        self._client.publish(topic, blob, qos=1).wait_for_publish(WAIT_S)

    def send(self, command: RunPlate | CancelPlate) -> None:
        topic = printer_cmd_topic(SITE, PRINTER)
        self._client.publish(topic, encode(command), qos=1).wait_for_publish(WAIT_S)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


class AgentProcess:
    """`makerfarm agent` in its own process, measured through /proc."""

    def __init__(self, config: Path, log: Path, env: dict[str, str], python: str) -> None:
        self._log = open(log, "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [python, str(REPO / "makerfarm_cli.py"), "agent", "--config", str(config)],
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._tick = os.sysconf("SC_CLK_TCK")

    def memory_mb(self) -> tuple[float, float]:
        """(VmRSS, VmHWM) in MB."""
        values: dict[str, float] = {}
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                name, _, rest = line.partition(":")
                if name in ("VmRSS", "VmHWM"):
                    values[name] = int(rest.split()[0]) / 1024
        return values["VmRSS"], values["VmHWM"]

    def cpu_s(self) -> float:
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self._tick  # utime + stime

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def _share(agent: AgentProcess, seconds: float) -> float:
    cpu0, wall0 = agent.cpu_s(), time.monotonic()
    time.sleep(seconds)
    return (agent.cpu_s() - cpu0) / (time.monotonic() - wall0)


def agent_run(
    program: Path, arena_max: str | None, args: argparse.Namespace, work: Path
) -> dict[str, float]:
    """One plate through `makerfarm agent`: its memory after each stage and its CPU."""
    run_dir = work / f"agent-{program.stem}-{arena_max or 'plain'}"
    spool = run_dir / "spool"
    spool.mkdir(parents=True)
    data = program.read_bytes()
    blob = compress_gcode(data)
    sha = sha256_hex(blob)
    command = RunPlate(
        command_id=f"run-{program.stem}",
        issued_at=datetime.now(UTC),
        plate_id=f"plate-{program.stem}",
        profile_id=PROFILE,
        gcode_sha256=sha,
        gcode_gzip_bytes=len(blob),
        gcode_bytes=len(data),
        parts=(PlatePart(part_id="part-1", label=LABEL),),
        material="PLA",
        colour="black",
        estimated_seconds=3600.0,
    )
    per_line = bytes_per_line(bench_commands(20_000, program))
    del data
    figures: dict[str, float] = {}
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    if arena_max is not None:
        env["MALLOC_ARENA_MAX"] = arena_max
    peer = Peer(Case(AGENT_BAUD, 500, True))
    with run_mosquitto(run_dir / "broker") as broker:
        config = run_dir / "agent.toml"
        config.write_text(
            f'site = "{SITE}"\nprinter = "{PRINTER}"\nprofile = "{PROFILE}"\n'
            f'spool_dir = "{spool}"\nlog_level = "warning"\n\n'
            f'[broker]\nurl = "{broker.url}"\n\n'
            f'[backend]\nkind = "marlin"\nport = "{peer.path}"\n'
            f"baudrate = {AGENT_BAUD}\nanswer_timeout_s = 1.0\n"
        )
        controller = Controller(broker.port)
        agent = AgentProcess(config, run_dir / "agent.log", env, args.agent_python)
        try:
            controller.wait_for(lambda: controller.state == "idle", "idle, printer connected")
            figures["idle_cpu"] = _share(agent, args.idle_s)
            figures["idle_rss"], figures["idle_hwm"] = agent.memory_mb()
            controller.send_blob(blob)
            stored = spool / "blobs" / f"{sha}.gcode.gz"
            deadline = time.monotonic() + WAIT_S
            while not stored.is_file() and time.monotonic() < deadline:
                time.sleep(0.05)  # no event tells the blob is stored; poll the spool
            figures["blob_rss"], figures["blob_hwm"] = agent.memory_mb()
            controller.send(command)
            controller.wait_for(
                lambda: (
                    controller.event(EventKind.PLATE_STARTED, EventKind.PLATE_REJECTED) is not None
                ),
                "the plate's start",
            )
            rejected = controller.event(EventKind.PLATE_REJECTED)
            if rejected is not None:
                raise SystemExit(f"the agent refused the plate: {rejected.details}")
            figures["accept_rss"], figures["accept_hwm"] = agent.memory_mb()
            lines0, cpu0, wall0 = peer.executed(), agent.cpu_s(), time.monotonic()
            controller.wait_for(
                lambda: (
                    controller.event(EventKind.PLATE_FINISHED) is not None
                    or time.monotonic() - wall0 >= args.stream_s
                ),
                "streaming",
                timeout=args.stream_s + 1,
            )
            wall = time.monotonic() - wall0
            figures["stream_cpu"] = (agent.cpu_s() - cpu0) / wall
            figures["lines_s"] = (peer.executed() - lines0) / wall
            figures["one_way"] = figures["lines_s"] / (AGENT_BAUD / 10 / per_line)
            figures["stream_rss"], figures["stream_hwm"] = agent.memory_mb()
            if controller.event(EventKind.PLATE_FINISHED) is None:
                controller.send(
                    CancelPlate(
                        command_id="cancel-1",
                        issued_at=datetime.now(UTC),
                        plate_id=command.plate_id,
                        reason="the bench has measured enough",
                    )
                )
            controller.wait_for(
                lambda: (
                    controller.event(EventKind.PLATE_CANCELLED, EventKind.PLATE_FINISHED)
                    is not None
                ),
                "the plate's end",
            )
            figures["after_cpu"] = _share(agent, args.idle_s)
            figures["after_rss"], figures["after_hwm"] = agent.memory_mb()
        except SystemExit as failure:
            log = (run_dir / "agent.log").read_text(errors="replace").splitlines()[-20:]
            raise SystemExit(f"{failure}\nthe agent's log ends:\n" + "\n".join(log)) from None
        finally:
            agent.stop()
            controller.close()
            peer.close()
    return figures


def agent_table(args: argparse.Namespace, work: Path) -> None:
    plates = [(work / "benchy.gcode", None)]
    if args.big_mb:
        plates.append((work / f"big{args.big_mb:g}mb.gcode", args.big_mb))
    print()
    print(
        f"the agent process (makerfarm agent, Marlin back-end at {AGENT_BAUD} baud with "
        "ADVANCED_OK, a fault every 500 lines; "
        f"plate cancelled after {args.stream_s:g} s of streaming); memory in MB: RSS/peak"
    )
    print(
        f"{'plate':>14} {'malloc':>8} {'idle':>11} {'blob in':>11} {'accepted':>11} "
        f"{'streaming':>11} {'idle after':>11} {'lines/s':>8} {'one-way':>8} "
        f"{'CPU stream':>10} {'CPU idle':>8}"
    )
    peaks: list[float] = []
    for path, megabytes in plates:
        size = labelled_plate(args.program, path, megabytes)
        name = f"{path.stem} {size / 1e6:.1f}MB"
        for arena_max in (None, "2"):
            f = agent_run(path, arena_max, args, work)
            peaks.append(f["after_hwm"])
            cells = " ".join(
                f"{f[stage + '_rss']:>5.1f}/{f[stage + '_hwm']:<5.1f}"
                for stage in ("idle", "blob", "accept", "stream", "after")
            )
            print(
                f"{name:>14} {'arena=2' if arena_max else 'plain':>8} {cells} "
                f"{f['lines_s']:>8.0f} {f['one_way']:>8.1%} {f['stream_cpu']:>10.1%} "
                f"{max(f['idle_cpu'], f['after_cpu']):>8.1%}"
            )
    print(f"peak memory of the agent process: {max(peaks):.1f} MB at most")
    print(
        "idle: connected, before the plate; blob in: the gzip'd G-code stored; accepted: "
        "unpacked, checked and started; CPU as a share of one core"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=4000)
    parser.add_argument("--idle-s", type=float, default=3.0)
    parser.add_argument("--stream-s", type=float, default=15.0)
    parser.add_argument("--big-mb", type=float, default=50.0, help="0: no big plate")
    parser.add_argument("--program", type=Path, default=PROGRAM)
    parser.add_argument("--skip-link", action="store_true", help="only the agent process")
    parser.add_argument(
        "--agent-python",
        default=sys.executable,
        help="the Python that runs the agent, e.g. a venv with only `pip install makerfarm` "
        "(what a Pi has) instead of this development venv with the server libraries",
    )
    args = parser.parse_args()
    if not args.program.is_file():
        raise SystemExit(
            f"{args.program} is missing: pass --program with the Benchy of the shared "
            "reference G-code (reference/gcode/benchy_prusa.gcode)"
        )
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        if not args.skip_link:
            link_table(args, work)
        agent_table(args, work)
    print("goals: >= 95 % of the link, < 10 % of a core, < 40 MB")


if __name__ == "__main__":
    main()
