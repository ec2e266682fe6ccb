"""`makerfarm broker-config`: write Mosquitto's configuration from the provisioned identities.

    makerfarm broker-config --out /etc/mosquitto/conf.d/makerfarm
    makerfarm broker-config --out tls/ --tls --ca ca.crt --cert server.crt --key server.key
    makerfarm broker-config --out site/ --bridge berlin \\
        --central mqtts://bridge.berlin:KEY@farm.example.org:8883 --central-ca ca.crt

Run it again after every `makerfarm provision` change and reload the broker
(`kill -HUP` or `systemctl reload mosquitto`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from controller.config import DEFAULT_DATA_DIR

if TYPE_CHECKING:
    from controller.security.broker_config import BrokerOptions


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="directory for mosquitto.conf, passwords and acl",
    )
    parser.add_argument("--db", metavar="URL", help="the controller's database")
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"the controller's data directory (default ./{DEFAULT_DATA_DIR})",
    )
    parser.add_argument(
        "--port",
        type=int,
        metavar="N",
        help="plaintext listener port (default 1883; none with --tls unless given)",
    )
    parser.add_argument("--bind", default="0.0.0.0", help="listen address (default 0.0.0.0)")
    parser.add_argument(
        "--persistence-dir",
        type=Path,
        metavar="DIR",
        help="keep retained messages and sessions across broker restarts here",
    )
    tls = parser.add_argument_group("TLS")
    tls.add_argument("--tls", action="store_true", help="add a TLS listener")
    tls.add_argument("--tls-port", type=int, default=8883)
    tls.add_argument("--ca", type=Path, help="CA certificate (PEM) clients are checked with")
    tls.add_argument("--cert", type=Path, help="the broker's certificate (PEM)")
    tls.add_argument("--key", type=Path, help="the broker's private key (PEM)")
    tls.add_argument(
        "--require-client-cert",
        action="store_true",
        help="clients must show a certificate signed by --ca as well",
    )
    bridge = parser.add_argument_group("site broker bridged to the central one")
    bridge.add_argument("--bridge", metavar="SITE", help="write a site broker's configuration")
    bridge.add_argument(
        "--central", metavar="URL", help="mqtt[s]://bridge.SITE:KEY@host:port of the central broker"
    )
    bridge.add_argument("--central-ca", type=Path, help="CA of the central broker (mqtts)")


def _options(args: argparse.Namespace) -> BrokerOptions:
    from controller.config import BrokerAddress
    from controller.security.broker_config import Bridge, BrokerConfigError, BrokerOptions, Tls

    tls = None
    if args.tls:
        missing = [name for name in ("ca", "cert", "key") if getattr(args, name) is None]
        if missing:
            raise BrokerConfigError("--tls needs " + ", ".join(f"--{m}" for m in missing))
        for path in (args.ca, args.cert, args.key):
            if not path.is_file():
                raise BrokerConfigError(f"{path} does not exist")
        tls = Tls(args.ca, args.cert, args.key, args.tls_port, args.require_client_cert)
    bridge = None
    if args.bridge:
        if not args.central:
            raise BrokerConfigError("--bridge needs --central URL of the central broker")
        bridge = Bridge(args.bridge, BrokerAddress.parse(args.central), args.central_ca)
    port = args.port if args.port is not None else (None if args.tls else 1883)
    return BrokerOptions(
        port=port or None,
        bind=args.bind,
        tls=tls,
        bridge=bridge,
        persistence_dir=args.persistence_dir,
    )


def run(args: argparse.Namespace) -> int:
    from controller.security.broker_config import BrokerConfigError, write_broker_config
    from controller.security.identities import ProvisionError, list_identities
    from controller.security.passwords import PasswordHashError
    from controller.security.provision_actions import check_bridge_key, open_database

    try:
        options = _options(args)
        with open_database(args) as session:
            identities = list_identities(session)
            if options.bridge is not None:
                check_bridge_key(session, options.bridge.site, options.bridge.central)
            session.expunge_all()
        paths = write_broker_config(args.out, identities, options)
    except (BrokerConfigError, ProvisionError, PasswordHashError, ValueError) as exc:
        print(f"makerfarm broker-config: {exc}", file=sys.stderr)
        return 2
    for name, path in paths.items():
        print(f"wrote {path}" + ("" if name == "mosquitto.conf" else " (owner-only)"))
    print(f"start it with: mosquitto -c {paths['mosquitto.conf']}")
    return 0
