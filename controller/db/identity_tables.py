"""Who may log in to the farm's broker: one row per MQTT identity (owned by controller.security).

An identity is a login name, a role and the one thing it acts for: a shop, a printer (its
agent), a staff member's site, a site broker's bridge, or the controller itself. Only the
key's hash is stored, in Mosquitto's `$7$` format, so `makerfarm broker-config` writes it
into the broker's password file as it is. Staff accounts are identities with the role
`staff`. A shop's quotas live in `shops.quotas`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, String
from sqlmodel import Field

from controller.db.tables import ID_LENGTH, FarmTable, _created

USERNAME_LENGTH = 80
HASH_LENGTH = 200


def _owner(target: str) -> Any:
    column = Column(String(ID_LENGTH), ForeignKey(target), nullable=True, index=True)
    return Field(default=None, sa_column=column)


class Identity(FarmTable, table=True):
    """One broker login: `role` says which of shop/printer/site it is bound to."""

    __tablename__ = "identities"

    username: str = Field(primary_key=True, max_length=USERNAME_LENGTH)
    role: str = Field(max_length=16, index=True)
    shop_id: str | None = _owner("shops.id")
    printer_id: str | None = _owner("printers.id")
    site_id: str | None = _owner("sites.id")
    name: str = Field(default="", max_length=120)
    password_hash: str = Field(max_length=HASH_LENGTH)
    created_at: datetime = _created()
    key_changed_at: datetime = _created()
