"""The planner: feasible, compatible, deterministic, stable under re-plans, and honest."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from protocol.planning import Plan, PlanInstance
from scheduler import plan
from scheduler.draft import Draft
from scheduler.evaluate import measure, retime
from scheduler.farm import compile_farm
from scheduler.improve import absorb, improve, nested_plate, objective
from scheduler.output import write_plan
from scheduler.planner import build
from scheduler.validate import violations
from tests.scheduler.farms import NOW, instance, job, part, printer, site, small_farm


def plates_of(result: Plan, printer_id: str) -> list[str]:
    return next((q.plates for q in result.queues if q.printer == printer_id), [])


def test_plan_is_feasible_and_places_every_part() -> None:
    farm = small_farm()
    result = plan(farm)
    assert violations(farm, result) == []
    placed = [p.part for plate in result.plates for p in plate.placements]
    assert sorted(placed) == sorted(p.id for p in farm.parts)
    assert result.unplaced == []


def test_every_plate_runs_on_a_printer_for_its_material() -> None:
    farm = small_farm()
    result = plan(farm)
    printers = {p.id: p for p in farm.printers}
    parts = {p.id: p for p in farm.parts}
    for plate in result.plates:
        assert plate.material in printers[plate.printer].materials
        for placement in plate.placements:
            assert (parts[placement.part].material, parts[placement.part].colour) == (
                plate.material,
                plate.colour,
            )


def test_same_input_and_seed_give_the_same_plan_json() -> None:
    farm = small_farm()
    first = plan(farm, seed=3).model_dump_json()
    assert plan(farm, seed=3).model_dump_json() == first


def test_plans_start_after_a_full_bed_only_while_staff_are_there() -> None:
    farm = small_farm()
    result = plan(farm)
    compiled = compile_farm(farm)
    calendar = compiled.calendars[0]
    by_id = {p.id: p for p in result.plates}
    for queue in result.queues:
        for plate_id in queue.plates[1:]:
            moment = by_id[plate_id].start
            assert moment is not None
            start = compiled.seconds(moment)
            assert calendar.staffed_at(start - 5 * 60 + 1)  # the bed clear took 5 minutes


def test_the_evaluator_times_a_plan_exactly_as_the_planner_did() -> None:
    farm = compile_farm(small_farm())
    plates, _ = build(farm, None, 0)
    before = [(d.start, d.end) for seq in plates for d in seq]
    retime(farm, plates)
    assert [(d.start, d.end) for seq in plates for d in seq] == before
    assert measure(farm, plates).placed_parts == len(farm.parts)


def test_urgent_parts_finish_before_their_due_time() -> None:
    farm = small_farm()
    result = plan(farm)
    end = {p.part: plate.end for plate in result.plates for p in plate.placements}
    for spec in farm.parts:
        if spec.job == "job-c":
            finished = end[spec.id]
            assert finished is not None and finished <= spec.due


def test_parts_ship_from_the_nearest_site_when_it_has_room() -> None:
    farm = small_farm()
    result = plan(farm)
    site_of = {p.part: plate.site for plate in result.plates for p in plate.placements}
    assert all(site_of[f"job-d-{i}"] == "south" for i in range(5))


def test_a_part_beyond_the_shipping_radius_is_refused_with_the_distance() -> None:
    farm = small_farm(job("far", 1, lat=54.5))
    result = plan(farm)
    (missing,) = result.unplaced
    assert missing.code == "distance"
    assert "no printer within 80 km of the ship-to point runs PLA" in missing.reason


def test_a_part_too_big_for_every_bed_names_the_largest_bed() -> None:
    farm = small_farm([part("huge", size=300.0)])
    (missing,) = plan(farm).unplaced
    assert missing.code == "bed_size"
    assert "part is 300 x 300 mm" in missing.reason
    assert "the largest PLA bed within 80 km is 256 x 256 mm" in missing.reason


def test_a_material_nobody_runs_is_named() -> None:
    (missing,) = plan(small_farm([part("flex", material="TPU")])).unplaced
    assert missing.code == "material" and "no printer in the farm runs TPU" in missing.reason


def test_a_part_needing_an_enclosure_only_goes_to_enclosed_printers() -> None:
    farm = instance(
        [site("north")],
        [printer("open1", materials=["ABS"]), printer("boxed", materials=["ABS"], enclosed=True)],
        job("abs", 4, material="ABS", needs_enclosure=True),
    )
    result = plan(farm)
    assert {plate.printer for plate in result.plates} == {"boxed"}


def test_a_part_too_tall_names_the_tallest_printer() -> None:
    (missing,) = plan(small_farm([part("tower", height_mm=300.0)])).unplaced
    assert missing.code == "height" and "the tallest PLA printer" in missing.reason


def test_adding_a_job_keeps_the_promised_plates() -> None:
    farm = small_farm()
    first = plan(farm)
    more = farm.model_copy(
        update={
            "parts": list(farm.parts) + list(small_farm(job("job-new", 6, due_hours=30.0)).parts)
        }
    )
    second = plan(more, previous=first)
    old = {p.id: p for p in first.plates}
    horizon = NOW + timedelta(hours=farm.freeze_hours)
    promised = [p for p in first.plates if p.start is not None and p.start <= horizon]
    assert promised
    new = {p.id: p for p in second.plates}
    for plate in promised:
        kept = new[plate.id]
        assert kept.printer == plate.printer and kept.placements == old[plate.id].placements
        assert kept.promised
    assert violations(more, second) == []
    placed = {p.part for plate in second.plates for p in plate.placements}
    assert {f"job-new-{i}" for i in range(6)} <= placed


def test_an_offline_printer_loses_its_plates_to_others() -> None:
    farm = small_farm()
    first = plan(farm)
    assert plates_of(first, "n1")
    printers = [
        p.model_copy(update={"state": "offline"}) if p.id == "n1" else p for p in farm.printers
    ]
    offline = farm.model_copy(update={"printers": printers})
    second = plan(offline, previous=first)
    assert plates_of(second, "n1") == []
    assert second.unplaced == []
    assert violations(offline, second) == []


def test_locked_plates_stay_as_they_are() -> None:
    parts = job("job-a", 6)
    parts[0]["locked_plate"] = "plate-running"
    parts[1]["locked_plate"] = "plate-running"
    locked = {
        "id": "plate-running",
        "printer": "n1",
        "status": "printing",
        "material": "PLA",
        "colour": "black",
        "print_seconds": 7200.0,
        "started_at": NOW - timedelta(hours=1),
        "placements": [
            {"part": "job-a-0", "x_mm": 10, "y_mm": 10, "rotation_deg": 0},
            {"part": "job-a-1", "x_mm": 60, "y_mm": 10, "rotation_deg": 0},
        ],
    }
    farm = small_farm(parts, locked_plates=[locked])
    result = plan(farm)
    first = result.plates[[p.id for p in result.plates].index("plate-running")]
    assert first.locked and first.end == NOW + timedelta(hours=1)
    assert plates_of(result, "n1")[0] == "plate-running"
    assert violations(farm, result) == []
    others = [p.part for plate in result.plates if not plate.locked for p in plate.placements]
    assert "job-a-0" not in others and len(others) == 4


def test_plate_time_is_the_sum_of_its_parts_plus_overhead() -> None:
    farm = small_farm()
    result = plan(farm)
    seconds = {p.id: p.print_seconds for p in farm.parts}
    for plate in result.plates:
        total = sum(seconds[p.part] for p in plate.placements)
        assert abs(plate.print_seconds - total - farm.costs.plate_overhead_seconds) < 1e-6
        assert plate.start is not None and plate.end is not None
        assert plate.end - plate.start == timedelta(seconds=plate.print_seconds)


def test_a_long_job_started_late_in_the_day_runs_through_the_night() -> None:
    evening = NOW + timedelta(hours=7)  # 16:00 in Berlin; staff leave at 18:00 (UTC 17:00)
    farm = PlanInstance.model_validate(
        {
            **small_farm().model_dump(by_alias=True),
            "now": evening,
            "printers": [printer("n1")],
            "sites": [site("north")],
            "parts": job("job-a", 20, hours=1.0, due_hours=72.0, size=30.0),
        }
    )
    result = plan(farm)
    first = result.plates[0]
    assert first.start is not None and first.end is not None
    # the plate ends after staff are back in the morning (07:00 UTC), not in the night
    assert first.end >= (evening + timedelta(days=1)).replace(hour=7, minute=0)
    assert violations(farm, result) == []


def test_seeds_only_break_ties() -> None:
    farm = small_farm()
    a, b = plan(farm, seed=1), plan(farm, seed=2)
    assert a.metrics.placed_parts == b.metrics.placed_parts == len(farm.parts)
    assert np.isclose(a.metrics.mean_tardiness_hours, b.metrics.mean_tardiness_hours, atol=1.0)


def test_the_improvement_pass_moves_work_off_an_overloaded_printer() -> None:
    farm = compile_farm(small_farm(job("job-a", 40, hours=1.5, due_hours=200.0, size=30.0)))
    plates, _ = build(farm, None, 0)
    pile = [d for seq in plates for d in seq]
    for d in pile:
        d.printer = 0
    crowded: list[list[Draft]] = [pile] + [[] for _ in farm.printers[1:]]
    before = objective(farm, crowded)
    makespan_before = measure(farm, crowded).makespan_hours
    better = improve(farm, crowded)
    assert objective(farm, better) < before
    assert measure(farm, better).makespan_hours < makespan_before
    assert sum(len(seq) for seq in better) == len(pile)


def test_a_plate_left_for_later_folds_into_another_printers_plate_of_its_colour() -> None:
    spec = instance(
        [site("north")],
        [printer("n1"), printer("n2")],
        job("job-a", 6, hours=1.0, due_hours=200.0, size=30.0),
    )
    farm = compile_farm(spec)
    single, lonely, rest = (
        nested_plate(farm, p, parts, 0, False)
        for p, parts in ((0, [0]), (1, [1]), (1, [2, 3, 4, 5]))
    )
    assert single is not None and lonely is not None and rest is not None
    plates = [[single], [lonely, rest]]
    before, last_before = objective(farm, plates), measure(farm, plates).makespan_hours
    folded = absorb(farm, [list(seq) for seq in plates], budget_total=20)
    retime(farm, folded)
    assert objective(farm, folded) < before
    assert measure(farm, folded).makespan_hours <= last_before
    assert sum(len(seq) for seq in folded) == 2  # the later plate is gone
    assert sorted(x for seq in folded for d in seq for x in d.parts) == list(range(6))
    written = write_plan(farm, folded, {}, [], measure(farm, folded), 0)
    assert not violations(spec, written, farm)
