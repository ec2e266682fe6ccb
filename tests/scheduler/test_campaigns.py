"""The capacity model, the per-site colour campaigns and the staffed-hours timetable."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from protocol.planning import PlanInstance
from scheduler import plan
from scheduler.campaigns import site_campaigns
from scheduler.capacity import MaskLoad, capacity, finish_for
from scheduler.farm import compile_farm
from scheduler.validate import violations
from tests.scheduler.farms import NOW, instance, job, printer, site, small_farm

HOUR = 3600.0


def test_printers_that_start_later_get_less_of_a_common_finish() -> None:
    farm = compile_farm(small_farm())
    starts = np.array([0.0, 4 * HOUR])
    finish = finish_for(farm, starts, 20 * HOUR)
    room = capacity(farm, starts, finish)
    assert abs(room.sum() - 20 * HOUR) < 60.0
    assert room[0] - room[1] > 3.5 * HOUR  # the late printer starts four hours later


def test_work_confined_to_one_printer_sets_the_finish_time() -> None:
    farm = compile_farm(small_farm())
    load = MaskLoad(farm, np.arange(2), np.zeros(2))
    load.add(0b01, 10 * HOUR)  # only printer 0 may print it
    load.add(0b11, 2 * HOUR)
    assert load.finish() > 10 * HOUR  # not (10 + 2) / 2 = 6 h
    assert load.room(0b10, 10.2 * HOUR) > 0 > load.room(0b01, 10.2 * HOUR)


def test_a_sites_colours_go_to_the_printers_that_have_them_loaded() -> None:
    spec = instance(
        [site("north")],
        [
            printer("black"),
            printer("white", loaded_colour="white"),
            printer("red", loaded_colour="red"),
        ],
        job("b", 6, hours=2.0, due_hours=100.0)
        + job("w", 6, hours=2.0, colour="white", due_hours=100.0)
        + job("r", 6, hours=2.0, colour="red", due_hours=100.0),
    )
    farm = compile_farm(spec)
    printers = np.arange(3)
    plans = site_campaigns(
        farm, printers, np.zeros(3), np.zeros(3, dtype=bool), np.arange(len(farm.parts))
    )
    for p in range(3):
        (campaign,) = plans[p]
        assert campaign.group == farm.group_of_printer_load(p)
    result = plan(spec)
    assert result.metrics.spool_changes == 0
    assert {plate.printer: plate.colour for plate in result.plates} == {
        "black": "black",
        "white": "white",
        "red": "red",
    }


def test_the_plate_started_at_closing_time_runs_until_staff_are_back() -> None:
    evening = NOW + timedelta(hours=8, minutes=30)  # 17:30 Berlin, staff leave at 18:00
    spec = PlanInstance.model_validate(
        {
            **small_farm().model_dump(by_alias=True),
            "now": evening,
            "sites": [site("north")],
            "printers": [printer("n1"), printer("n2")],
            "parts": job("a", 40, hours=1.0, due_hours=96.0, size=25.0),
        }
    )
    result = plan(spec)
    assert violations(spec, result) == []
    back = (evening + timedelta(days=1)).replace(hour=7, minute=0)  # 08:00 Berlin
    for queue in result.queues:
        first = next(p for p in result.plates if p.id == queue.plates[0])
        assert first.start is not None and first.end is not None
        assert first.start < evening + timedelta(hours=1)
        assert first.end >= back  # no printer sits finished through the night


def test_an_idle_printer_starts_its_loaded_colour_before_staff_arrive() -> None:
    dawn = NOW - timedelta(hours=2)  # 07:00 Berlin, staff come at 08:00
    spec = PlanInstance.model_validate(
        {
            **small_farm().model_dump(by_alias=True),
            "now": dawn,
            "sites": [site("north")],
            "printers": [printer("n1"), printer("n2", loaded_colour="white")],
            "parts": job("a", 8, hours=1.0, due_hours=48.0)
            + job("w", 8, hours=1.0, colour="white", due_hours=48.0),
        }
    )
    result = plan(spec)
    assert violations(spec, result) == []
    for queue in result.queues:
        first = next(p for p in result.plates if p.id == queue.plates[0])
        assert first.start == dawn and not first.spool_change


def test_a_later_finish_is_chosen_when_the_spool_changes_it_saves_cost_more() -> None:
    printers = [
        printer("black"),
        printer("white", loaded_colour="white"),
        printer("red", loaded_colour="red"),
    ]
    parts = job("b", 4, hours=2.0, due_hours=100.0)
    hurried = plan(instance([site("north")], printers, parts))
    patient = plan(
        instance([site("north")], printers, parts, costs={"makespan_cost_per_hour": 0.1})
    )
    # hours are dear: the idle printers change spool to share the work
    assert hurried.metrics.spool_changes >= 1
    # hours are cheap: the loaded printer prints it all, nobody changes a spool
    assert patient.metrics.spool_changes == 0
    assert {plate.printer for plate in patient.plates} == {"black"}
    assert patient.metrics.makespan_hours > hurried.metrics.makespan_hours
