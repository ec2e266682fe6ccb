"""The farm's identities: who may log in to the broker, and for what.

Each identity is one broker login bound to exactly one thing it acts for:

| role | acts for | username |
|---|---|---|
| controller | the whole farm | `controller` (or `controller.<name>`) |
| shop | one shop | `shop.<shop>` |
| agent | one printer (at its site) | `agent.<printer>` |
| staff | one person at one site | `staff.<login>` |
| bridge | one site broker | `bridge.<site>` |

Keys are made here, returned once to the caller (who prints them) and stored only as
hashes. These are plain functions over a Session, like `controller.lifecycle`; the caller
commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from controller.db.identity_tables import Identity
from controller.db.tables import Job, Mesh, Plate, Printer, Shop, Site
from controller.db.types import utcnow
from controller.lifecycle.jobs import ensure_shop
from controller.lifecycle.printers import register_printer, upsert_site
from controller.security.passwords import hash_password, new_key
from protocol.fields import ID_RE

MIN_STAFF_PASSWORD_CHARS = 12


class Role(StrEnum):
    CONTROLLER = "controller"
    SHOP = "shop"
    AGENT = "agent"
    STAFF = "staff"
    BRIDGE = "bridge"


class ProvisionError(ValueError):
    """The operator's request cannot be carried out; the text says why and what to do."""


@dataclass(frozen=True)
class Issued:
    """A login just made or re-keyed; `key` is shown once and never stored."""

    username: str
    key: str
    role: Role
    subject: str


def username_for(role: Role, subject: str) -> str:
    if role is Role.CONTROLLER and subject == "controller":
        return "controller"
    return f"{role.value}.{subject}"


def check_id(what: str, value: str) -> str:
    if not ID_RE.fullmatch(value):
        raise ProvisionError(
            f"{what} id {value!r} is not valid: ids are 1-64 characters of "
            "a-z, 0-9, '_' and '-', starting with a letter or digit"
        )
    return value


def _issue(
    session: Session, role: Role, subject: str, key: str | None = None, **owner: Any
) -> Issued:
    username = username_for(role, subject)
    if session.get(Identity, username) is not None:
        raise ProvisionError(
            f"{username} already has a key; use `makerfarm provision "
            f"rotate-key {username}` to replace it"
        )
    key = key or new_key()
    session.add(
        Identity(username=username, role=role.value, password_hash=hash_password(key), **owner)
    )
    session.flush()
    return Issued(username, key, role, subject)


def _site(session: Session, site_id: str) -> Site:
    site = session.get(Site, check_id("site", site_id))
    if site is None:
        raise ProvisionError(
            f"site {site_id} is not provisioned; add it first with "
            f"`makerfarm provision site add {site_id} --lat .. --lon ..`"
        )
    return site


# --- adding ----------------------------------------------------------------------------------


def add_site(
    session: Session, site_id: str, *, name: str = "", lat: float, lon: float, tz: str = "UTC"
) -> Site:
    """Create a site, or update its name, place and time zone."""
    existing = session.get(Site, check_id("site", site_id))
    hours = existing.staffed_hours if existing is not None else None
    return upsert_site(
        session,
        site_id,
        name=name,
        lat=lat,
        lon=lon,
        tz=tz,
        staffed_hours=hours or {str(day): [["00:00", "24:00"]] for day in range(7)},
    )


def add_printer(
    session: Session, printer_id: str, *, site_id: str, profile_id: str, name: str = ""
) -> Issued:
    """Create a printer at a provisioned site and the key its agent logs in with."""
    _site(session, site_id)
    check_id("printer", printer_id)
    existing = session.get(Printer, printer_id)
    if existing is not None and existing.site_id != site_id:
        raise ProvisionError(
            f"printer {printer_id} is already at site {existing.site_id}; "
            "printer ids are unique across the farm"
        )
    register_printer(
        session, printer_id, site_id=site_id, profile_id=profile_id, name=name, actor="provision"
    )
    return _issue(session, Role.AGENT, printer_id, printer_id=printer_id, site_id=site_id)


def add_shop(
    session: Session, shop_id: str, *, name: str = "", quotas: dict[str, int] | None = None
) -> Issued:
    """Create a shop (or adopt one that submitted before) and its key."""
    shop = ensure_shop(session, check_id("shop", shop_id), name=name)
    if name:
        shop.name = name
    if quotas:
        shop.quotas = {**shop.quotas, **quotas}
    session.add(shop)
    return _issue(session, Role.SHOP, shop_id, shop_id=shop_id)


def set_shop_quotas(session: Session, shop_id: str, quotas: dict[str, int]) -> Shop:
    shop = session.get(Shop, check_id("shop", shop_id))
    if shop is None:
        raise ProvisionError(f"shop {shop_id} is not provisioned")
    shop.quotas = {**shop.quotas, **quotas}
    session.add(shop)
    return shop


def add_staff(
    session: Session, login: str, *, site_id: str, name: str = "", password: str | None = None
) -> Issued:
    """A staff account at one site; a password is generated unless one is given."""
    _site(session, site_id)
    check_id("staff login", login)
    if password is not None and len(password) < MIN_STAFF_PASSWORD_CHARS:
        raise ProvisionError(
            f"a staff password needs at least {MIN_STAFF_PASSWORD_CHARS} "
            "characters; leave it out to have one generated"
        )
    issued = _issue(session, Role.STAFF, login, password, site_id=site_id)
    identity = session.get(Identity, issued.username)
    assert identity is not None
    identity.name = name or login
    return issued


def add_bridge(session: Session, site_id: str) -> Issued:
    """The login a site's own broker uses to bridge its topics to the central broker."""
    _site(session, site_id)
    return _issue(session, Role.BRIDGE, site_id, site_id=site_id)


def add_controller(session: Session, name: str = "controller") -> Issued:
    """A login for a controller (it may read and write every farm topic)."""
    return _issue(session, Role.CONTROLLER, check_id("controller", name))


def rotate_key(session: Session, username: str, password: str | None = None) -> Issued:
    """Replace an identity's key; the old one stops working at the next broker-config."""
    identity = session.get(Identity, username)
    if identity is None:
        raise ProvisionError(f"no identity {username!r}; `makerfarm provision list` shows them")
    key = password or new_key()
    identity.password_hash = hash_password(key)
    identity.key_changed_at = utcnow()
    session.add(identity)
    role = Role(identity.role)
    return Issued(username, key, role, subject_of(identity))


# --- reading ---------------------------------------------------------------------------------


def subject_of(identity: Identity) -> str:
    role = Role(identity.role)
    if role is Role.CONTROLLER:
        return identity.username.removeprefix("controller.")
    return identity.username.split(".", 1)[1]


def list_identities(session: Session, role: Role | None = None) -> list[Identity]:
    query = select(Identity).order_by(col(Identity.role), col(Identity.username))
    if role is not None:
        query = query.where(Identity.role == role.value)
    return list(session.exec(query))


def list_sites(session: Session) -> list[Site]:
    return list(session.exec(select(Site).order_by(col(Site.id))))


def list_printers(session: Session) -> list[Printer]:
    return list(session.exec(select(Printer).order_by(col(Printer.site_id), col(Printer.id))))


def list_shops(session: Session) -> list[Shop]:
    return list(session.exec(select(Shop).order_by(col(Shop.id))))


# --- removing --------------------------------------------------------------------------------


def _revoke(session: Session, username: str) -> bool:
    identity = session.get(Identity, username)
    if identity is None:
        return False
    session.delete(identity)
    session.flush()
    return True


def remove_shop(session: Session, shop_id: str) -> str:
    """Revoke the shop's key; its row goes too unless jobs or meshes still name it."""
    revoked = _revoke(session, username_for(Role.SHOP, shop_id))
    shop = session.get(Shop, shop_id)
    if shop is None and not revoked:
        raise ProvisionError(f"shop {shop_id} is not provisioned")
    if shop is None:
        return f"shop {shop_id}: key revoked"
    history = (
        session.exec(select(Job.id).where(Job.shop_id == shop_id).limit(1)).first()
        or session.exec(select(Mesh.sha256).where(Mesh.uploaded_by == shop_id).limit(1)).first()
    )
    if history is not None:
        return f"shop {shop_id}: key revoked; its jobs are kept for the record"
    session.delete(shop)
    return f"shop {shop_id}: removed"


def remove_printer(session: Session, printer_id: str) -> str:
    """Revoke the agent's key; the printer row goes unless plates name it (then it is put
    in maintenance, so nothing more is planned for it)."""
    _revoke(session, username_for(Role.AGENT, printer_id))
    printer = session.get(Printer, printer_id)
    if printer is None:
        raise ProvisionError(f"printer {printer_id} is not provisioned")
    plate = session.exec(select(Plate.id).where(Plate.printer_id == printer_id).limit(1)).first()
    if plate is not None:
        printer.maintenance = True
        session.add(printer)
        return (
            f"printer {printer_id}: key revoked and put in maintenance; its plates are "
            "kept for the record"
        )
    session.delete(printer)
    return f"printer {printer_id}: removed"


def remove_staff(session: Session, login: str) -> str:
    if not _revoke(session, username_for(Role.STAFF, login)):
        raise ProvisionError(f"no staff account {login!r}")
    return f"staff {login}: removed"


def remove_site(session: Session, site_id: str) -> str:
    """A site goes only once its printers and staff are gone; its bridge key goes with it."""
    site = _site(session, site_id)
    printers = session.exec(select(Printer.id).where(Printer.site_id == site_id)).all()
    staff = session.exec(
        select(Identity.username).where(
            Identity.site_id == site_id, Identity.role == Role.STAFF.value
        )
    ).all()
    if printers or staff:
        held = [f"printers {', '.join(printers)}"] if printers else []
        held += [f"staff {', '.join(staff)}"] if staff else []
        raise ProvisionError(f"site {site_id} still has {' and '.join(held)}; remove them first")
    _revoke(session, username_for(Role.BRIDGE, site_id))
    session.delete(site)
    return f"site {site_id}: removed"


def remove_identity(session: Session, username: str) -> str:
    if not _revoke(session, username):
        raise ProvisionError(f"no identity {username!r}")
    return f"{username}: key revoked"
