"""The end-of-day rebalance: a site's last plates re-packed to one water level."""

from __future__ import annotations

import math

from protocol.planning import PlanInstance
from scheduler.draft import Draft
from scheduler.evaluate import measure, retime
from scheduler.farm import compile_farm
from scheduler.improve import nested_plate, objective
from scheduler.leveling import level
from scheduler.output import write_plan
from scheduler.validate import violations
from tests.scheduler.farms import NOW, part, printer, site


def _instance() -> PlanInstance:
    return PlanInstance.model_validate(
        {
            "now": NOW.isoformat(),
            "sites": [site("north")],
            "printers": [printer("a"), printer("b")],
            "parts": [part(f"x{i}", hours=3.0, due_hours=60.0) for i in range(6)],
        }
    )


def test_a_straggler_left_for_the_morning_moves_into_a_night_plate() -> None:
    instance = _instance()
    farm = compile_farm(instance)
    black = farm.group_of_printer_load(0)
    # printer a: a day plate, a night plate, and one part waiting for the next morning;
    # printer b does nothing
    plates: list[list[Draft]] = [[], []]
    for parts in ([0, 1], [2, 3, 4], [5]):
        draft = nested_plate(farm, 0, parts, black, False)
        assert draft is not None
        plates[0].append(draft)
    retime(farm, plates)
    staff_back = farm.calendars[0].next_staffed(plates[0][1].end)
    assert plates[0][-1].end > staff_back  # the old end: a morning straggler

    leveled = level(farm, plates, objective)

    timing = retime(farm, leveled)
    ends = [d.end for seq in leveled for d in seq]
    assert all(math.isfinite(e) for e in ends)
    assert max(ends) < staff_back  # every part done in the night
    assert sorted(x for seq in leveled for d in seq for x in d.parts) == list(range(6))
    assert all(d.group == black for seq in leveled for d in seq)  # no spool change
    metrics = measure(farm, leveled, timing.clocks)
    assert violations(instance, write_plan(farm, leveled, {}, [], metrics, 0), farm) == []
