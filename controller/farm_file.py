"""The farm's makerspaces and printers, as the operator writes them down (TOML).

    [[sites]]
    id = "berlin"
    name = "Berlin Makerspace"
    lat = 52.52
    lon = 13.40
    tz = "Europe/Berlin"
    staffed = { mon = ["09:00-18:00"], sat = ["10:00-14:00"] }   # default: always staffed

    [[printers]]
    id = "berlin-1"
    site = "berlin"
    profile = "generic-220"
    material = "PLA"        # the spool loaded when the printer is first added (optional)
    colour = "black"

`makerfarm controller --farm farm.toml` writes these into the database at start (added or
updated, never removed: a printer that leaves the farm is put into maintenance by staff).
A printer that announces itself on a provisioned site's state topic with a profile id is
added on the fly too.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlmodel import Session

from controller.db.tables import Printer
from controller.lifecycle.printers import register_printer, upsert_site

ID = r"^[a-z0-9][a-z0-9_-]{0,63}$"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SPAN = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)$")
ALWAYS = {str(day): [["00:00", "24:00"]] for day in range(7)}


class FarmFileError(ValueError):
    """The farm file cannot be used; the text names the key and what to write."""


class SiteEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ID)
    name: str = Field(default="", max_length=120)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    tz: str = Field(default="UTC", max_length=64)
    staffed: dict[str, list[str]] | None = None

    @field_validator("staffed")
    @classmethod
    def _spans(cls, value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        for day, spans in (value or {}).items():
            if day not in WEEKDAYS:
                raise ValueError(f"staffed day {day!r} is not one of {', '.join(WEEKDAYS)}")
            for span in spans:
                if not SPAN.match(span):
                    raise ValueError(f"staffed span {span!r} must look like 09:00-18:00")
        return value

    def staffed_hours(self) -> dict[str, Any]:
        """The table's form: weekday number (0 = Monday) -> [[start, end], ...]."""
        if self.staffed is None:
            return dict(ALWAYS)
        return {
            str(WEEKDAYS.index(day)): [span.split("-") for span in spans]
            for day, spans in self.staffed.items()
        }


class PrinterEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ID)
    site: str = Field(pattern=ID)
    profile: str = Field(min_length=1, max_length=64)
    material: str | None = Field(default=None, max_length=16)
    colour: str | None = Field(default=None, max_length=32)


class FarmFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sites: list[SiteEntry] = Field(default_factory=list)
    printers: list[PrinterEntry] = Field(default_factory=list)


def load_farm_file(path: Path) -> FarmFile:
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise FarmFileError(f"cannot read the farm file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise FarmFileError(f"{path} is not valid TOML: {exc}") from None
    try:
        farm = FarmFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise FarmFileError(f"{path}: {where}: {first['msg']}") from None
    check_farm(farm)
    return farm


def check_farm(farm: FarmFile) -> None:
    """Printers name provisioned sites and existing profiles."""
    from firmware_profiles import load_profile

    sites = {site.id for site in farm.sites}
    for printer in farm.printers:
        if printer.site not in sites:
            raise FarmFileError(
                f"printer {printer.id} is at site {printer.site!r}, which the "
                "farm file does not list under [[sites]]"
            )
        try:
            load_profile(printer.profile)
        except Exception as exc:
            raise FarmFileError(
                f"printer {printer.id}: profile {printer.profile!r}: {exc}"
            ) from None


def provision(session: Session, farm: FarmFile) -> None:
    """Add or update the farm file's sites and printers (never removes any)."""
    for entry in farm.sites:
        upsert_site(
            session,
            entry.id,
            name=entry.name,
            lat=entry.lat,
            lon=entry.lon,
            tz=entry.tz,
            staffed_hours=entry.staffed_hours(),
        )
    for pentry in farm.printers:
        new = session.get(Printer, pentry.id) is None
        printer = register_printer(
            session, pentry.id, site_id=pentry.site, profile_id=pentry.profile
        )
        # The spool is the printer's first one only: later changes are staff's, and a
        # restart must not undo them.
        if new and pentry.material:
            printer.loaded_material = pentry.material.upper()
            printer.loaded_colour = (pentry.colour or "").lower() or None
            session.add(printer)
