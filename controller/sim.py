"""`makerfarm sim`: a large simulated farm against a broker, for capacity planning.

    makerfarm sim --sites 20 --printers 50 --jobs 500 --speed 1000 --broker mqtt://127.0.0.1:1883

Three processes, so that what is measured is the controller and not the simulation:
the controller (`makerfarm controller`, a subprocess), the printers (`makerfarm swarm`, a
subprocess: every printer has its own MQTT connection with its Last Will and retained state,
all driven from one thread), and this process, which plays the shops (submitting `--jobs`
jobs of the demo's meshes and following their statuses) and the staff (clearing beds and
loading spools as soon as they are asked to). The swarm is a subprocess because nothing
imports the agent package (design.md) and because it should not share a core with the
controller. Without `--broker` a `mosquitto` on a free loopback port is started (the
embedded broker is for a newcomer's nine printers, not for thousands of connections).

At the end it prints throughput, the latencies the shops saw (submit -> accepted, -> first
part printing, -> done, p50/p99) and the printers' utilisation; `--json` prints them as one
JSON object. Exit status 0 when every job is done, 1 when some are not after `--duration`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from controller.config import BrokerAddress
from controller.demo_farm import demo_jobs
from controller.demo_meshes import demo_mesh
from controller.demo_staff import SimulatedStaff
from controller.job_tracker import JobTracker, submit_job
from controller.shop_link import ShopLink
from controller.sim_farm import JobFigures, farm_toml, roster, sim_farm
from controller.sim_processes import ControllerProcess, MosquittoProcess, SwarmProcess

DEFAULT_DURATION_S = 600.0
PROGRESS_EVERY_S = 5.0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sites", type=int, default=3, help="makerspaces (default 3)")
    parser.add_argument(
        "--printers", type=int, default=10, help="printers per makerspace (default 10)"
    )
    parser.add_argument("--jobs", type=int, default=50, help="jobs the shops submit")
    parser.add_argument(
        "--speed",
        type=float,
        default=1000.0,
        help="simulated printers run this many times faster (default 1000)",
    )
    parser.add_argument(
        "--broker",
        metavar="URL",
        help="mqtt://host:port of the broker (default: start mosquitto on a free loopback port)",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="the controller's database (default: SQLite in a temporary directory)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=DEFAULT_DURATION_S,
        metavar="S",
        help=f"give up after this many seconds (default {DEFAULT_DURATION_S:g})",
    )
    parser.add_argument(
        "--plate-failure-rate",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="this fraction of plates comes loose mid-print (reprinted)",
    )
    parser.add_argument("--seed", type=int, default=7, help="which varied jobs to submit")
    parser.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="keep the controller's data and logs here (default: temporary)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def run(args: argparse.Namespace) -> int:
    if min(args.sites, args.printers, args.jobs) < 1 or args.speed <= 0:
        print(
            "makerfarm sim: --sites, --printers and --jobs must be at least 1, --speed positive",
            file=sys.stderr,
        )
        return 2
    try:
        broker = BrokerAddress.parse(args.broker) if args.broker else None
    except ValueError as error:
        print(f"makerfarm sim: {error}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="makerfarm-sim-") as temporary:
        data = args.data or Path(temporary)
        data.mkdir(parents=True, exist_ok=True)
        try:
            report = simulate(args, broker, data)
        except RuntimeError as error:
            print(f"makerfarm sim: {error}", file=sys.stderr)
            return 1
    print(json.dumps(report, indent=2) if args.json else render(report), flush=True)
    return 0 if report["jobs"]["done"] == report["jobs"]["submitted"] else 1


def simulate(args: argparse.Namespace, broker: BrokerAddress | None, data: Path) -> dict[str, Any]:
    farm = sim_farm(args.sites, args.printers)
    (data / "farm.toml").write_text(farm_toml(farm))
    (data / "roster.json").write_text(json.dumps(roster(farm)))
    with ExitStack() as stack:
        if broker is None:
            broker = stack.enter_context(MosquittoProcess(data / "mosquitto")).address
        url = _url(broker)
        stack.enter_context(ControllerProcess(url, data, data / "farm.toml", args.db))
        swarm = stack.enter_context(
            SwarmProcess(
                url,
                data / "roster.json",
                args.speed,
                args.plate_failure_rate,
                args.seed,
                log_path=data / "swarm.log",
            )
        )
        staff = stack.enter_context(SimulatedStaff(broker))
        tracker = stack.enter_context(JobTracker(url))
        jobs = demo_jobs(args.jobs, seed=args.seed)
        refs = [job.client_ref for job in jobs]
        started = time.monotonic()
        submitted_at: dict[str, float] = {}
        with ShopLink(url, None) as link:
            for job in jobs:
                submitted_at[job.client_ref] = time.monotonic()
                submit_job(link, job, demo_mesh(job.mesh).stl)
        _follow(tracker, refs, started, args.duration, quiet=args.json)
        elapsed = time.monotonic() - started
        printers = swarm.stop()
        figures = JobFigures.from_history(submitted_at, tracker.history, tracker.arrived_at)
        states = Counter(tracker.state_of(ref) for ref in refs)
        parts = tracker.part_totals(refs)
        stuck = tracker.stuck(refs)
        beds = sum(len(v) for v in staff.cleared_at.values())
    return {
        "farm": {"sites": args.sites, "printers": len(farm.printers), "speed": args.speed},
        "jobs": {
            "submitted": len(jobs),
            "done": states.get("done", 0),
            "by_state": dict(states),
            "parts": sum(j.quantity for j in jobs),
            "parts_printed": parts["printed"],
        },
        "elapsed_s": round(elapsed, 2),
        "throughput": {
            "jobs_done_per_min": round(60 * states.get("done", 0) / elapsed, 2),
            "parts_printed_per_min": round(60 * parts["printed"] / elapsed, 2),
        },
        "latency": figures.table(),
        "printers": printers,
        "beds_cleared": beds,
        "stuck": stuck[:20],
    }


def _follow(
    tracker: JobTracker, refs: list[str], started: float, duration_s: float, quiet: bool
) -> None:
    deadline = started + duration_s
    while time.monotonic() < deadline:
        if tracker.wait_for(
            lambda: tracker.all_final(refs), min(PROGRESS_EVERY_S, deadline - time.monotonic())
        ):
            return
        if not quiet:
            states = Counter(tracker.state_of(ref) for ref in refs)
            line = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
            print(f"[{time.monotonic() - started:6.1f}s] jobs: {line}", file=sys.stderr, flush=True)


def _url(address: BrokerAddress) -> str:
    scheme = "mqtts" if address.tls else "mqtt"
    user = ""
    if address.username:
        user = address.username + (f":{address.password}" if address.password else "") + "@"
    return f"{scheme}://{user}{address.host}:{address.port}"


def render(report: dict[str, Any]) -> str:
    farm, jobs, printers = report["farm"], report["jobs"], report["printers"]
    lines = [
        f"farm: {farm['sites']} sites, {farm['printers']} simulated printers, speed "
        f"x{farm['speed']:g}",
        f"jobs: {jobs['done']}/{jobs['submitted']} done in {report['elapsed_s']} s "
        f"({jobs['parts_printed']}/{jobs['parts']} parts printed; {jobs['by_state']})",
        f"throughput: {report['throughput']['jobs_done_per_min']} jobs/min, "
        f"{report['throughput']['parts_printed_per_min']} parts/min",
        "",
        f"{'latency (s)':34} {'n':>6} {'p50':>9} {'p99':>9} {'max':>9}",
    ]
    for name, row in report["latency"].items():
        cells = [
            f"{row[k]:9.3f}" if row[k] is not None else f"{'-':>9}" for k in ("p50", "p99", "max")
        ]
        lines.append(f"{name:34} {row['n']:6d} " + " ".join(cells))
    lines += [
        "",
        f"printers: utilisation {printers.get('utilisation', 0):.1%} (heating or printing), "
        f"{printers.get('plates_finished', 0)} plates finished, "
        f"{printers.get('plates_failed', 0)} failed, {printers.get('plates_rejected', 0)} "
        f"refused, {report['beds_cleared']} beds cleared",
    ]
    if report["stuck"]:
        lines += ["", "not done:"] + ["  " + line for line in report["stuck"]]
    return "\n".join(lines)
