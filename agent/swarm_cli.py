"""`makerfarm swarm`: many simulated printers and their agents in one process.

    makerfarm swarm --broker mqtt://farm:1883 --sites 10 --printers 100 --profile generic-220
    makerfarm swarm --broker mqtt://farm:1883 --roster printers.json --speed 500

The load generator behind `makerfarm sim` and `bench/ingest_bench.py`, and a way to put a
real controller under the load of a big farm from another machine. `--roster` is a JSON list
of {"site", "printer", "profile"}; without it the printers are `s001-p0001`... on sites
`site-001`... Prints one JSON line `{"ready": ...}` when every printer is connected, and one
`{"summary": ...}` line when it stops (SIGTERM, Ctrl-C or `--duration`).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from agent.config import parse_broker_url
from agent.swarm import Swarm, SwarmMember, SwarmSettings
from firmware_profiles import ProfileError, load_profile

CONNECT_TIMEOUT_S = 120.0


def site_id(site: int) -> str:
    return f"site-{site + 1:03d}"


def printer_id(site: int, printer: int) -> str:
    return f"s{site + 1:03d}-p{printer + 1:04d}"


def generated_roster(sites: int, printers_per_site: int, profiles: list[str]) -> list[SwarmMember]:
    """`sites` x `printers_per_site` printers, profiles taken in turn."""
    return [
        SwarmMember(site_id(s), printer_id(s, p), profiles[(s + p) % len(profiles)])
        for s in range(sites)
        for p in range(printers_per_site)
    ]


def load_roster(path: Path) -> list[SwarmMember]:
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        return [SwarmMember(str(e["site"]), str(e["printer"]), str(e["profile"])) for e in entries]
    except OSError as error:
        raise ValueError(f"cannot read the roster {path}: {error.strerror}") from None
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"the roster {path} must be a JSON list of objects with site, printer "
            f"and profile: {error}"
        ) from None


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--broker",
        default="mqtt://127.0.0.1:1883",
        metavar="URL",
        help="mqtt[s]://user:pass@host:port (default mqtt://127.0.0.1:1883)",
    )
    parser.add_argument(
        "--roster",
        type=Path,
        metavar="JSON",
        help="the printers: a JSON list of {site, printer, profile}",
    )
    parser.add_argument("--sites", type=int, default=1, help="sites (without --roster)")
    parser.add_argument(
        "--printers", type=int, default=10, help="printers per site (without --roster)"
    )
    parser.add_argument(
        "--profile",
        action="append",
        dest="profiles",
        metavar="ID",
        help="profile of the generated printers (repeat to mix; default generic-220)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="simulated printers run this many times faster than real ones",
    )
    parser.add_argument(
        "--state-interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="retained state every this many seconds (and on every change)",
    )
    parser.add_argument(
        "--telemetry-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="temperatures at QoS 0 every this many seconds (0: none)",
    )
    parser.add_argument(
        "--plate-failure-rate",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="this fraction of plates comes loose mid-print",
    )
    parser.add_argument(
        "--duration",
        type=float,
        metavar="SECONDS",
        help="stop after this long (default: until SIGTERM or Ctrl-C)",
    )
    parser.add_argument("--seed", type=int, default=0)


def build(args: argparse.Namespace) -> Swarm:
    """The swarm the arguments describe; ValueError with what is wrong."""
    if args.speed <= 0 or args.state_interval <= 0 or args.telemetry_interval < 0:
        raise ValueError(
            "--speed and --state-interval must be positive, --telemetry-interval zero or more"
        )
    if not 0 <= args.plate_failure_rate <= 1:
        raise ValueError("--plate-failure-rate is a fraction between 0 and 1")
    if args.roster is not None:
        members = load_roster(args.roster)
    else:
        if args.sites < 1 or args.printers < 1:
            raise ValueError("--sites and --printers must be at least 1")
        members = generated_roster(args.sites, args.printers, args.profiles or ["generic-220"])
    for profile in sorted({member.profile for member in members}):
        try:
            load_profile(profile)
        except ProfileError as error:
            raise ValueError(f"profile {profile!r}: {error}") from None
    address = parse_broker_url(args.broker)
    settings = SwarmSettings(
        host=address.host,
        port=address.port,
        username=address.username,
        password=address.password,
        tls=address.tls,
        speed=args.speed,
        state_interval_s=args.state_interval,
        telemetry_interval_s=args.telemetry_interval,
        plate_failure_rate=args.plate_failure_rate,
        seed=args.seed,
    )
    return Swarm(members, settings)


def run(args: argparse.Namespace) -> int:
    try:
        swarm = build(args)
    except ValueError as error:
        print(f"makerfarm swarm: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    swarm.start()
    try:
        if not swarm.wait_connected(CONNECT_TIMEOUT_S):
            print(
                f"makerfarm swarm: only {swarm.connected} of {len(swarm.printers())} printers "
                f"connected to {args.broker} within {CONNECT_TIMEOUT_S:g} s; is the broker "
                "up, and does its max_connections (and the open-file limit) allow them?",
                file=sys.stderr,
            )
            return 1
        print(json.dumps({"ready": swarm.summary()}), flush=True)
        stop.wait(args.duration)
    finally:
        summary = swarm.summary()
        swarm.stop()
        print(json.dumps({"summary": summary}), flush=True)
    return 0
