"""`makerfarm tui [--site ID] [--broker URL] [--user NAME]`: start the staff terminal UI."""

from __future__ import annotations

import argparse
import re
import sys

from tui.broker import DEFAULT_BROKER, BrokerUrlError, parse_broker_url

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--site", metavar="ID", help="follow one makerspace (default: all sites; press t to change)"
    )
    parser.add_argument(
        "--broker",
        metavar="URL",
        default=DEFAULT_BROKER,
        help=f"MQTT broker, mqtt[s]://[user[:password]@]host[:port] (default: {DEFAULT_BROKER})",
    )
    parser.add_argument(
        "--user",
        metavar="NAME",
        help="staff name signed on every action (default: your login name)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        broker = parse_broker_url(args.broker)
    except BrokerUrlError as exc:
        print(f"makerfarm tui: {exc}", file=sys.stderr)
        return 2
    if args.site is not None and not _ID.fullmatch(args.site):
        print(
            f"makerfarm tui: site id {args.site!r} is not valid: ids are 1-64 characters "
            "of a-z, 0-9, '_' and '-'",
            file=sys.stderr,
        )
        return 2
    user = args.user
    if user is not None and not (0 < len(user) <= 64 and user.isprintable()):
        print("makerfarm tui: --user must be 1-64 printable characters", file=sys.stderr)
        return 2
    from tui.app import MakerfarmApp

    MakerfarmApp(broker=broker, site=args.site, staff_user=user).run()
    return 0
