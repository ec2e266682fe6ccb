"""`makerfarm provision`: the operator adds and removes sites, printers, shops and staff.

    makerfarm provision site add berlin --lat 52.52 --lon 13.40 --name "Berlin Makerspace"
    makerfarm provision printer add berlin-1 --site berlin --profile prusa-mk4 \\
        --agent-config berlin-1.toml --broker mqtts://farm.example.org:8883
    makerfarm provision shop add acme --max-open-jobs 500 --submits-per-minute 120
    makerfarm provision staff add alice --site berlin --name "Alice"
    makerfarm provision list

Every key is printed once, when it is made (or replaced with `rotate-key`); the database
keeps only its hash. Run `makerfarm broker-config` afterwards so the broker knows.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from controller.config import DEFAULT_DATA_DIR

_Action = Callable[[Any, argparse.Namespace], Any]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", metavar="URL", help="the controller's database (default: makerfarm.db in --data)"
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"the controller's data directory (default ./{DEFAULT_DATA_DIR})",
    )
    parser.add_argument("--json", action="store_true", help="answer in JSON")
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="WHAT")
    _site_commands(kinds.add_parser("site", help="makerspaces"))
    _printer_commands(kinds.add_parser("printer", help="printers and their agents' keys"))
    _shop_commands(kinds.add_parser("shop", help="shops, their keys and quotas"))
    _staff_commands(kinds.add_parser("staff", help="staff accounts (one site each)"))
    for role, what in (
        ("controller", "a controller's login"),
        ("bridge", "a site broker's bridge login"),
    ):
        sub = kinds.add_parser(role, help=what).add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help=f"make {what}")
        add.add_argument(
            "id",
            nargs="?" if role == "controller" else None,
            default="controller",
            help="name" if role == "controller" else "site",
        )
    rotate = kinds.add_parser("rotate-key", help="replace an identity's key")
    rotate.add_argument("username")
    rotate.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the new password from stdin instead of generating one",
    )
    _agent_config_options(rotate)
    revoke = kinds.add_parser("revoke", help="remove an identity's key")
    revoke.add_argument("username")
    kinds.add_parser("list", help="every identity (never their keys)")


def _site_commands(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add a site or change its details")
    add.add_argument("id")
    add.add_argument("--lat", type=float, required=True)
    add.add_argument("--lon", type=float, required=True)
    add.add_argument("--name", default="")
    add.add_argument("--tz", default="UTC", help="IANA time zone, e.g. Europe/Berlin")
    sub.add_parser("list")
    sub.add_parser("remove").add_argument("id")


def _agent_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--agent-config",
        type=Path,
        metavar="TOML",
        help="write the agent's configuration file (with its key) here",
    )
    parser.add_argument(
        "--broker",
        default="mqtt://127.0.0.1:1883",
        metavar="URL",
        help="broker URL the agent connects to (for --agent-config)",
    )
    parser.add_argument("--ca-file", help="CA certificate path on the agent (mqtts://)")
    parser.add_argument("--spool-dir", default="/var/lib/makerfarm/spool")


def _printer_commands(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add a printer and make its agent's key")
    add.add_argument("id")
    add.add_argument("--site", required=True)
    add.add_argument("--profile", required=True, help="printer profile id (makerfarm profiles)")
    add.add_argument("--name", default="")
    _agent_config_options(add)
    sub.add_parser("list")
    sub.add_parser("remove").add_argument("id")


def _shop_commands(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add a shop and make its key")
    add.add_argument("id")
    add.add_argument("--name", default="")
    quota = sub.add_parser("quota", help="change a shop's quotas")
    quota.add_argument("id")
    for sub_parser in (add, quota):
        sub_parser.add_argument(
            "--max-open-jobs", type=int, metavar="N", help="jobs the shop may have open at once"
        )
        sub_parser.add_argument(
            "--submits-per-minute", type=int, metavar="N", help="job submits and cancels per minute"
        )
    sub.add_parser("list")
    sub.add_parser("remove").add_argument("id")


def _staff_commands(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add a staff account at one site")
    add.add_argument("login")
    add.add_argument("--site", required=True)
    add.add_argument("--name", default="")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from stdin instead of generating one",
    )
    sub.add_parser("list")
    sub.add_parser("remove").add_argument("login")


def run(args: argparse.Namespace) -> int:
    from controller.security.identities import ProvisionError
    from controller.security.passwords import PasswordHashError
    from controller.security.provision_actions import ACTIONS, open_database

    action = ACTIONS[(args.kind, getattr(args, "action", None))]
    try:
        with open_database(args) as session:
            result = action(session, args)
    except (ProvisionError, PasswordHashError, ValueError) as exc:
        print(f"makerfarm provision: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True, default=str))
    else:
        _print(result)
    return 0


def _print(result: Any) -> None:
    if isinstance(result, dict) and "key" in result:
        print(f"{result['username']}: key {result['key']}")
        print(
            "  shown once: store it now (only its hash is kept); then run `makerfarm broker-config`"
        )
        if result.get("agent_config"):
            print(f"  agent configuration written to {result['agent_config']}")
        return
    if isinstance(result, list):
        for row in result:
            print("  ".join(f"{key}={value}" for key, value in row.items()))
        if not result:
            print("(none)")
        return
    print(result)


def read_password() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("password: ")
    return sys.stdin.readline().rstrip("\n")
