"""Which site prints what: nearest first, fewer spool changes, spill-over when full."""

from __future__ import annotations

from typing import Any

import numpy as np

from protocol.planning import PlanInstance
from scheduler.farm import compile_farm
from scheduler.sites import assign_sites
from tests.scheduler.farms import instance, job, printer, site

NORTH, SOUTH = 52.5, 52.3  # about 22 km apart


def sites_of(farm_spec: PlanInstance) -> dict[str, str]:
    farm = compile_farm(farm_spec)
    open_parts = np.arange(len(farm.parts))
    where = assign_sites(farm, np.zeros(len(farm.printers)), open_parts)
    return {part.id: farm.spec.sites[int(s)].id for part, s in zip(farm.parts, where, strict=True)}


def two_sites(
    parts: list[dict[str, Any]], north_printers: int = 2, south_printers: int = 2
) -> PlanInstance:
    printers = [printer(f"n{i}") for i in range(north_printers)]
    printers += [printer(f"s{i}", "south") for i in range(south_printers)]
    return instance([site("north", lat=NORTH), site("south", lat=SOUTH)], printers, parts)


def test_parts_go_to_the_nearest_site_when_the_load_is_even() -> None:
    parts = job("a", 4, lat=NORTH) + job("b", 4, lat=SOUTH)
    where = sites_of(two_sites(parts))
    assert all(where[f"a-{i}"] == "north" and where[f"b-{i}"] == "south" for i in range(4))


def test_a_full_site_spills_over_to_the_next_nearest() -> None:
    parts = job("a", 20, lat=NORTH, hours=3.0)
    where = sites_of(two_sites(parts))
    spilled = sum(1 for s in where.values() if s == "south")
    assert 6 <= spilled <= 14  # about half the work moves to the other site's printers


def red_between(red_lat: float) -> PlanInstance:
    """Shops 10 km out from each site; one red part at `red_lat`, red loaded only south."""
    parts = job("a", 6, lat=NORTH + 0.09, hours=3.0)
    parts += job("filler", 5, lat=SOUTH - 0.09, hours=3.0)
    parts += job("red", 1, lat=red_lat, colour="red")
    return instance(
        [site("north", lat=NORTH), site("south", lat=SOUTH)],
        [
            printer("n1"),
            printer("n2"),
            printer("s1", "south", loaded_colour="red"),
            printer("s2", "south"),
        ],
        parts,
    )


def test_a_small_colour_moves_to_where_its_spool_is_loaded() -> None:
    # 9 km from north, 13 km from south: 4 km more saves a spool change
    assert sites_of(red_between(52.42))["red-0"] == "south"


def test_moving_a_colour_to_its_spool_keeps_within_the_shipping_cap() -> None:
    # at the north site itself: 22 km more is beyond 18 % of the farm's shipping distance
    assert sites_of(red_between(NORTH))["red-0"] == "north"


def test_a_part_only_one_site_can_print_goes_there() -> None:
    parts = job("big", 3, lat=NORTH, size=240.0)
    spec = instance(
        [site("north", lat=NORTH), site("south", lat=SOUTH)],
        [printer("n1"), printer("s1", "south", bed=256.0)],
        parts,
    )
    assert set(sites_of(spec).values()) == {"south"}
