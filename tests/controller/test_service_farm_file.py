"""The farm file: makerspaces and printers provisioned at start, errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.db import create_engine_for, migrate, unit_of_work
from controller.db.tables import Printer, Site
from controller.farm_file import FarmFileError, load_farm_file, provision

FARM = """
[[sites]]
id = "kreuzberg"
name = "Kreuzberg Makerspace"
lat = 52.4986
lon = 13.4030
tz = "Europe/Berlin"
staffed = { mon = ["09:00-18:00"], sat = ["10:00-14:00"] }

[[printers]]
id = "kb-ender"
site = "kreuzberg"
profile = "creality-ender3-v2"
material = "pla"
colour = "Black"
"""


def test_provisioning_adds_sites_and_printers_and_a_restart_keeps_staffs_spool(
    tmp_path: Path, sqlite_url: str
) -> None:
    path = tmp_path / "farm.toml"
    path.write_text(FARM)
    farm = load_farm_file(path)
    migrate(sqlite_url)
    engine = create_engine_for(sqlite_url)
    try:
        with unit_of_work(engine) as session:
            provision(session, farm)
        with unit_of_work(engine) as session:
            site = session.get(Site, "kreuzberg")
            printer = session.get(Printer, "kb-ender")
            assert site is not None and printer is not None
            assert site.staffed_hours == {"0": [["09:00", "18:00"]], "5": [["10:00", "14:00"]]}
            assert (printer.loaded_material, printer.loaded_colour) == ("PLA", "black")
            printer.loaded_material, printer.loaded_colour = "PETG", "white"  # staff's change
        with unit_of_work(engine) as session:
            provision(session, farm)  # the controller restarts with the same farm file
        with unit_of_work(engine) as session:
            printer = session.get(Printer, "kb-ender")
            assert printer is not None
            assert (printer.loaded_material, printer.loaded_colour) == ("PETG", "white")
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (FARM.replace('site = "kreuzberg"', 'site = "wedding"'), "site 'wedding'"),
        (FARM.replace("creality-ender3-v2", "no-such-printer"), "no-such-printer"),
        (FARM.replace('"09:00-18:00"', '"9-18"'), "09:00-18:00"),
        (FARM.replace("lat = 52.4986", "lat = 152.0"), "sites.0.lat"),
        (FARM + "\n[oops\n", "not valid TOML"),
    ],
)
def test_a_bad_farm_file_is_refused_naming_what_to_fix(
    tmp_path: Path, text: str, says: str
) -> None:
    path = tmp_path / "farm.toml"
    path.write_text(text)
    with pytest.raises(FarmFileError, match=says):
        load_farm_file(path)
