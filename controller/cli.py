"""`makerfarm controller`: run the farm's controller service until SIGTERM / Ctrl-C.

With no `--broker` it starts an embedded MQTT broker on 127.0.0.1 (loopback only; port 1883
or a free one, printed at start), so a newcomer needs nothing installed. Logs are JSON lines
on stderr.

`--shared-group NAME` (or MAKERFARM_SHARED_GROUP) runs this controller as one of several on
one PostgreSQL database and one broker (README, "Two or more controllers").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from controller.config import DEFAULT_DATA_DIR, BrokerAddress, ControllerSettings, Timing


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--broker",
        metavar="URL",
        help="mqtt[s]://user:pass@host:port of the farm's broker "
        "(default: start an embedded broker on 127.0.0.1)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=1883,
        help="port of the embedded broker (default 1883; a free port is "
        "used when it is taken; 0 = any free port)",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="sqlite:///path/farm.db or postgresql://user@host/db "
        "(default: makerfarm.db in the data directory)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"data directory for meshes, G-code and the database (default ./{DEFAULT_DATA_DIR})",
    )
    parser.add_argument(
        "--farm",
        type=Path,
        metavar="TOML",
        help="sites and printers to provision at start (see README)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="worker processes for mesh checks, planning and slicing (default: one per CPU core)",
    )
    parser.add_argument(
        "--offline-grace",
        type=float,
        metavar="SECONDS",
        default=Timing().offline_grace_s,
        help="how long a printer may be offline mid-print before its plate "
        "is declared interrupted and its parts go back in the queue",
    )
    parser.add_argument(
        "--replan-interval",
        type=float,
        metavar="SECONDS",
        default=Timing().replan_min_interval_s,
        help="re-plan at most this often",
    )
    parser.add_argument(
        "--shared-group",
        metavar="NAME",
        default=os.environ.get("MAKERFARM_SHARED_GROUP") or None,
        help="run as one of several controllers on one PostgreSQL database: subscribe as "
        "MQTT v5 shared subscriptions $share/NAME/... so the broker splits the load "
        "(default: $MAKERFARM_SHARED_GROUP, else this is the only controller)",
    )
    parser.add_argument(
        "--client-id",
        metavar="ID",
        help="MQTT client id (default makerfarm-controller; with --shared-group the host "
        "name and process id are added, so each controller has its own)",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )


def settings_from(args: argparse.Namespace) -> ControllerSettings:
    timing = Timing(offline_grace_s=args.offline_grace, replan_min_interval_s=args.replan_interval)
    values: dict[str, object] = {
        "broker": BrokerAddress.parse(args.broker) if args.broker else None,
        "embedded_broker_port": args.port,
        "data_dir": args.data,
        "db_url": args.db,
        "farm_file": args.farm,
        "timing": timing,
        "shared_group": args.shared_group,
    }
    if args.client_id:
        values["client_id"] = args.client_id
    if args.workers:
        values["workers"] = args.workers
    return ControllerSettings.model_validate(values)


def _announce(line: str) -> None:
    print(f"makerfarm controller: {line}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from controller.logs import setup_logging
    from controller.service import run_until_signalled

    try:
        settings = settings_from(args)
    except ValueError as exc:
        print(f"makerfarm controller: {_first_error(exc)}", file=sys.stderr)
        return 2
    setup_logging(args.log_level)
    if settings.broker is None:
        print(
            "makerfarm controller: no --broker given; starting an embedded broker on "
            "127.0.0.1 (loopback only: agents and shops on other machines cannot reach it)",
            file=sys.stderr,
            flush=True,
        )
    try:
        asyncio.run(run_until_signalled(settings, _announce))
    except KeyboardInterrupt:
        return 130
    return 0


def _first_error(exc: ValueError) -> str:
    """A settings error as one sentence (pydantic's own text names the model and a URL)."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        found = errors()
        if found:
            return str(found[0].get("msg", exc)).removeprefix("Value error, ")
    return str(exc)
