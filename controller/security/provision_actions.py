"""What each `makerfarm provision` command does, as one function per (what, action).

Each takes the open Session and the parsed arguments and returns what is shown: a dict for
an issued key (printed once), a list of rows for a listing, or a sentence.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlmodel import Session

from controller.config import BrokerAddress, ControllerSettings
from controller.db import create_engine_for, migrate, unit_of_work
from controller.db.identity_tables import Identity
from controller.security import identities as ids
from controller.security.agent_config import AgentLogin, write_agent_config
from controller.security.limits import QUOTA_KEYS
from controller.security.passwords import verify_password

Action = Callable[[Session, argparse.Namespace], Any]


@contextmanager
def open_database(args: argparse.Namespace) -> Iterator[Session]:
    """The controller's database (same defaults as `makerfarm controller`), migrated."""
    settings = ControllerSettings(data_dir=args.data, db_url=args.db)
    if settings.db_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine_for(settings.database_url)
    try:
        migrate(engine)
        with unit_of_work(engine) as session:
            yield session
    finally:
        engine.dispose()


def _issued(issued: ids.Issued, agent_config: Path | None = None) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "username": issued.username,
        "key": issued.key,
        "role": issued.role.value,
        "subject": issued.subject,
    }
    if agent_config is not None:
        shown["agent_config"] = str(agent_config)
    return shown


def _with_agent_config(
    session: Session, args: argparse.Namespace, issued: ids.Issued
) -> dict[str, Any]:
    if args.agent_config is None:
        return _issued(issued)
    identity = session.get(Identity, issued.username)
    from controller.db.tables import Printer

    printer = session.get(Printer, issued.subject)
    if identity is None or printer is None or issued.role is not ids.Role.AGENT:
        raise ids.ProvisionError("--agent-config is only for a printer's agent key")
    write_agent_config(
        args.agent_config,
        AgentLogin(
            site=printer.site_id,
            printer=printer.id,
            profile=printer.profile_id,
            broker_url=args.broker,
            username=issued.username,
            password=issued.key,
            ca_file=args.ca_file,
            spool_dir=args.spool_dir,
        ),
    )
    return _issued(issued, args.agent_config)


def _quotas(args: argparse.Namespace) -> dict[str, int]:
    given = {"max_open_jobs": args.max_open_jobs, "submits_per_minute": args.submits_per_minute}
    quotas = {key: value for key, value in given.items() if value is not None}
    for key, value in quotas.items():
        low, high = QUOTA_KEYS[key]
        if not low <= value <= high:
            raise ids.ProvisionError(f"{key.replace('_', '-')} must be {low}..{high}")
    return quotas


def _password(args: argparse.Namespace) -> str | None:
    from controller.security.provision_cli import read_password

    return read_password() if getattr(args, "password_stdin", False) else None


def _identity_row(identity: Identity) -> dict[str, Any]:
    owner = identity.shop_id or identity.printer_id or identity.site_id or "-"
    return {
        "username": identity.username,
        "role": identity.role,
        "for": owner,
        "site": identity.site_id or "-",
        "key_changed": identity.key_changed_at,
    }


def _printer_add(session: Session, args: argparse.Namespace) -> Any:
    from firmware_profiles import load_profile

    try:
        load_profile(args.profile)
    except Exception as exc:
        raise ids.ProvisionError(
            f"profile {args.profile!r}: {exc} (`makerfarm profiles` lists them)"
        ) from None
    issued = ids.add_printer(
        session, args.id, site_id=args.site, profile_id=args.profile, name=args.name
    )
    return _with_agent_config(session, args, issued)


def _staff_add(session: Session, args: argparse.Namespace) -> Any:
    password = _password(args)
    issued = ids.add_staff(
        session, args.login, site_id=args.site, name=args.name, password=password
    )
    return _issued(issued) if password is None else f"{issued.username}: password set"


def _rotate(session: Session, args: argparse.Namespace) -> Any:
    issued = ids.rotate_key(session, args.username, _password(args))
    return _with_agent_config(session, args, issued)


ACTIONS: dict[tuple[str, str | None], Action] = {
    ("site", "add"): lambda s, a: (
        f"site {ids.add_site(s, a.id, name=a.name, lat=a.lat, lon=a.lon, tz=a.tz).id}: saved"
    ),
    ("site", "list"): lambda s, a: [
        {"site": site.id, "name": site.name, "lat": site.lat, "lon": site.lon, "tz": site.tz}
        for site in ids.list_sites(s)
    ],
    ("site", "remove"): lambda s, a: ids.remove_site(s, a.id),
    ("printer", "add"): _printer_add,
    ("printer", "list"): lambda s, a: [
        {"printer": p.id, "site": p.site_id, "profile": p.profile_id, "maintenance": p.maintenance}
        for p in ids.list_printers(s)
    ],
    ("printer", "remove"): lambda s, a: ids.remove_printer(s, a.id),
    ("shop", "add"): lambda s, a: _issued(ids.add_shop(s, a.id, name=a.name, quotas=_quotas(a))),
    ("shop", "quota"): lambda s, a: (
        f"shop {a.id}: quotas {ids.set_shop_quotas(s, a.id, _quotas(a)).quotas}"
    ),
    ("shop", "list"): lambda s, a: [
        {"shop": shop.id, "name": shop.name, "quotas": shop.quotas} for shop in ids.list_shops(s)
    ],
    ("shop", "remove"): lambda s, a: ids.remove_shop(s, a.id),
    ("staff", "add"): lambda s, a: _staff_add(s, a),
    ("staff", "list"): lambda s, a: [
        _identity_row(i) for i in ids.list_identities(s, ids.Role.STAFF)
    ],
    ("staff", "remove"): lambda s, a: ids.remove_staff(s, a.login),
    ("controller", "add"): lambda s, a: _issued(ids.add_controller(s, a.id)),
    ("bridge", "add"): lambda s, a: _issued(ids.add_bridge(s, a.id)),
    ("rotate-key", None): _rotate,
    ("revoke", None): lambda s, a: ids.remove_identity(s, a.username),
    ("list", None): lambda s, a: [_identity_row(i) for i in ids.list_identities(s)],
}


def check_bridge_key(session: Session, site: str, central: BrokerAddress) -> None:
    """The login in --central is the site's provisioned bridge key (caught now, not at the
    first failed bridge connection)."""
    expected = ids.username_for(ids.Role.BRIDGE, site)
    if central.username != expected:
        raise ids.ProvisionError(
            f"--central must log in as {expected} (made with "
            f"`makerfarm provision bridge add {site}`)"
        )
    identity = session.get(Identity, expected)
    if identity is None:
        raise ids.ProvisionError(
            f"site {site} has no bridge key; make one with `makerfarm provision bridge add {site}`"
        )
    if not central.password or not verify_password(central.password, identity.password_hash):
        raise ids.ProvisionError(
            f"the key in --central is not {expected}'s; use the one "
            "printed by `provision bridge add` (or rotate-key it)"
        )
