"""`makerfarm agent`: run the agent beside one printer.

    makerfarm agent --config /etc/makerfarm/agent.toml
    makerfarm agent --print-example-config > agent.toml
    makerfarm agent --print-systemd-unit

Runs until SIGTERM or Ctrl-C, then stops cleanly: the printer's state says
`offline`, and events not yet delivered stay on disk for the next start.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from agent.agent import Agent
from agent.config import EXAMPLE_CONFIG, ConfigError, load_config
from agent.systemd import systemd_unit
from firmware_profiles import ProfileError, load_profile

DEFAULT_CONFIG = Path("/etc/makerfarm/agent.toml")
LOG_FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        help=f"the agent's TOML configuration (default {DEFAULT_CONFIG})",
    )
    parser.add_argument(
        "--print-example-config",
        action="store_true",
        help="print a commented example configuration and exit",
    )
    parser.add_argument(
        "--print-systemd-unit",
        action="store_true",
        help="print a systemd unit that runs this agent and exit",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="check the configuration and the printer profile, then exit",
    )


def run(args: argparse.Namespace) -> int:
    if args.print_example_config:
        sys.stdout.write(EXAMPLE_CONFIG)
        return 0
    if args.print_systemd_unit:
        sys.stdout.write(systemd_unit(args.config.absolute()))
        return 0
    try:
        config = load_config(args.config)
        config.broker.credentials()
    except ConfigError as error:
        print(f"makerfarm agent: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.log_level.upper(), format=LOG_FORMAT)
    try:
        profile = load_profile(config.profile)
    except ProfileError as error:
        print(f"makerfarm agent: profile: {error}", file=sys.stderr)
        return 2
    if args.check:
        print(
            f"{args.config}: OK (site {config.site}, printer {config.printer}, "
            f"profile {profile.id}, back-end {config.backend.kind})"
        )
        return 0
    return _serve(Agent(config, profile=profile))


def _serve(agent: Agent) -> int:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    agent.start()
    logging.getLogger("agent").info(
        "agent for %s/%s running", agent.config.site, agent.config.printer
    )
    stop.wait()
    agent.stop()
    return 0
