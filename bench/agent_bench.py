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

The peer runs in a child process, so CPU and peak memory are the agent's alone: the
bench process imports the whole agent (paho-mqtt, pydantic, protocol, profiles) as
`makerfarm agent` does, then drives the back-end. Idle is the connected printer
reporting temperatures every 2 s.

    .venv/bin/python bench/agent_bench.py [--lines 4000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import agent.agent  # noqa: E402,F401  (the agent's whole import set, for the memory figure)
from agent.backends.base import BackendEvent, LinkChanged, PlateFinished, PlateToRun  # noqa: E402
from agent.backends.marlin import MarlinOptions, MarlinPrinter  # noqa: E402
from agent.backends.marlin.link import frame  # noqa: E402
from agent.backends.marlin.streamer import clean_line  # noqa: E402
from agent.journal import PrintJournal  # noqa: E402
from firmware_profiles import load_profile  # noqa: E402

PROGRAM = REPO.parent / "shared" / "reference" / "gcode" / "benchy_prusa.gcode"
LINK_FAULTS = ("checksum", "drop", "lost_ok")


@dataclass(frozen=True)
class Case:
    baudrate: int
    fault_every: int
    advanced_ok: bool


def _peer(connection: object, baudrate: int, fault_every: int, advanced_ok: bool) -> None:
    from tests.support.marlin_peer import MarlinPeer

    peer = MarlinPeer(
        baudrate=baudrate,
        fault_every=fault_every,
        faults=LINK_FAULTS,
        report_speedup=1.0,
        advanced_ok=advanced_ok,
        keepalive_s=0.2,
    ).start()
    connection.send(peer.path)  # type: ignore[attr-defined]
    connection.recv()  # type: ignore[attr-defined]  # until the bench is done
    connection.send(peer.counters.overflow_bytes)  # type: ignore[attr-defined]
    peer.close()


class Events:
    def __init__(self) -> None:
        self.connected = threading.Event()
        self.finished = threading.Event()

    def __call__(self, event: BackendEvent) -> None:
        if isinstance(event, LinkChanged) and event.connected:
            self.connected.set()
        elif isinstance(event, PlateFinished):
            self.finished.set()


def write_program(path: Path, lines: int) -> list[str]:
    commands: list[str] = []
    with open(PROGRAM, encoding="utf-8") as source:
        for raw in source:
            command = clean_line(raw)
            # the bench measures the link, not heating or homing
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
    path.write_text("\n".join(commands) + "\n")
    return commands


def run_case(
    case: Case, program: Path, commands: list[str], work: Path, idle_s: float
) -> dict[str, float]:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(
        target=_peer, args=(child, case.baudrate, case.fault_every, case.advanced_ok)
    )
    process.start()
    port = parent.recv()
    events = Events()
    profile = load_profile("generic-220")
    profile = profile.model_copy(
        update={"serial": profile.serial.model_copy(update={"reset_on_connect": False})}
    )
    printer = MarlinPrinter(
        MarlinOptions(port=port, baudrate=case.baudrate, answer_timeout_s=1.0),
        profile,
        events,
        PrintJournal(work / "journal.jsonl"),
    )
    try:
        printer.connect()
        if not events.connected.wait(30):
            raise SystemExit("the back-end did not connect to the peer")
        idle_cpu = _cpu_share(idle_s)
        plate = PlateToRun("bench", "0" * 64, "PLA", ("benchy",), 0.0, 0.0, 0.0)
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
        parent.send("done")
        overflow = parent.recv() if parent.poll(10) else -1
        process.join(10)
    out_bytes = sum(len(frame(i + 1, command)) for i, command in enumerate(commands))
    per_line = out_bytes / len(commands)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=4000)
    parser.add_argument("--idle-s", type=float, default=3.0)
    args = parser.parse_args()
    cases = [
        Case(baud, faults, advanced)
        for baud in (115_200, 250_000)
        for advanced in (False, True)
        for faults in (0, 500)
    ]
    print(
        f"{args.lines} commands of {PROGRAM.name}; faults: one of {', '.join(LINK_FAULTS)} "
        "every 500 lines (1 s answer timeout)"
    )
    print(
        f"{'baud':>7} {'faults':>7} {'oks':>8} {'lines/s':>8} {'ok-paced':>9} "
        f"{'one-way':>8} {'resent':>6} {'timeouts':>8} {'timeout':>7} {'lost B':>6} "
        f"{'CPU stream':>10} {'CPU idle':>8}"
    )
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        program = work / "plate.gcode"
        commands = write_program(program, args.lines)
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
            f"line size {figures['bytes_per_line']:.1f} bytes with N and checksum; "
            "CPU as a share of one core"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of the agent process (whole agent imported): {peak_mb:.1f} MB")
    print(
        "lost B: bytes the peer lost past its receive buffer; timeout: the adaptive "
        "answer timeout at the end (M113 keep-alive 0.2 s)"
    )
    print("goals: >= 95 % of the link, < 10 % of a core, < 40 MB")


if __name__ == "__main__":
    main()
