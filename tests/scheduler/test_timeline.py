"""The shared clock rules: staff clear beds in their hours, one printer at a time each."""

from __future__ import annotations

from datetime import timedelta

from scheduler.farm import Farm, compile_farm
from scheduler.timeline import simulate
from tests.scheduler.farms import NOW, instance, job, printer, site

HOUR = 3600.0


def two_printers(operators: int = 1, state: str = "idle") -> Farm:
    return compile_farm(
        instance(
            [site("north", operators=operators)],
            [printer("a", state=state), printer("b", state=state)],
            job("j", 2),
        )
    )


def test_an_idle_printer_with_the_right_spool_starts_without_staff() -> None:
    farm = compile_farm(
        instance([site("north")], [printer("a")], job("j", 1), now=NOW - timedelta(hours=6))
    )  # 03:00 in Berlin
    timed, _ = simulate(farm, [[(farm.group_index[("PLA", "black")], HOUR)]])
    assert timed[0][0].start == 0.0


def test_a_spool_change_waits_for_staff() -> None:
    farm = compile_farm(
        instance(
            [site("north")],
            [printer("a", loaded_material="PETG", loaded_colour="white")],
            job("j", 1),
            now=NOW - timedelta(hours=6),
        )
    )
    timed, clocks = simulate(farm, [[(farm.group_index[("PLA", "black")], HOUR)]])
    # staff arrive at 08:00 Berlin (07:00 UTC, one hour before NOW), then change the spool
    assert timed[0][0].start == 5 * HOUR + 10 * 60
    assert timed[0][0].spool_change and clocks.printers[0].spool_changes == 1


def test_one_operator_clears_two_full_beds_one_after_the_other() -> None:
    farm = two_printers(state="bed_full")
    group = farm.group_index[("PLA", "black")]
    timed, _ = simulate(farm, [[(group, HOUR)], [(group, HOUR)]])
    assert timed[0][0].start == 5 * 60 and timed[1][0].start == 10 * 60


def test_two_operators_clear_two_beds_at_once() -> None:
    farm = two_printers(operators=2, state="bed_full")
    group = farm.group_index[("PLA", "black")]
    timed, _ = simulate(farm, [[(group, HOUR)], [(group, HOUR)]])
    assert timed[0][0].start == timed[1][0].start == 5 * 60


def test_a_plate_ending_after_closing_waits_for_the_morning() -> None:
    farm = two_printers()
    group = farm.group_index[("PLA", "black")]
    timed, clocks = simulate(farm, [[(group, 10 * HOUR), (group, HOUR)], []])
    # ends 19:00 Berlin; staff are back at 08:00, clear the bed and start the next plate
    assert timed[0][1].start == (24 - 1) * HOUR + 5 * 60
    assert clocks.printers[0].idle_full_seconds >= 13 * HOUR
