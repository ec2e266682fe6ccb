"""The time estimate: trapezoids, junctions, lookahead, and the numpy twin giving the same."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from firmware_profiles import load_profile
from firmware_profiles.gcode import analyze
from firmware_profiles.gcode.motion_limits import MotionLimits
from firmware_profiles.gcode.planner import KEEP, WINDOW, MotionPlanner, Record, block_seconds
from firmware_profiles.gcode.planner_numpy import NumpyMotionPlanner

LIMITS = MotionLimits(
    max_feedrate=(500.0, 500.0, 10.0, 60.0),
    max_acceleration=(500.0, 500.0, 100.0, 5000.0),
    jerk=(8.0, 8.0, 0.4, 5.0),
    extruding_acceleration=500.0,
    retracting_acceleration=1000.0,
    travel_acceleration=500.0,
    extruding_ceiling=500.0,
    retracting_ceiling=1000.0,
    travel_ceiling=500.0,
)


def flat(records: list[Record]) -> list[float]:
    return [value for record in records for value in record]


def seconds_of(records: list[Record], limits: MotionLimits = LIMITS) -> float:
    planner = MotionPlanner(limits)
    planner.add(flat(records))
    planner.stop()
    return planner.totals.seconds


def test_a_long_move_accelerates_cruises_and_brakes() -> None:
    # 100 mm at 50 mm/s, 500 mm/s², starting and stopping at the 8 mm/s jerk speed.
    accelerate = (50**2 - 8**2) / (2 * 500)
    expected = 2 * (50 - 8) / 500 + (100 - 2 * accelerate) / 50
    assert seconds_of([(100.0, 0.0, 0.0, 0.0, 50.0)]) == pytest.approx(expected)


def test_a_short_move_never_reaches_its_feedrate() -> None:
    # 1 mm at 100 mm/s: accelerate from 8 mm/s to the peak half way, then brake.
    peak = (8**2 + 500 * 1.0) ** 0.5
    assert block_seconds(1.0, 100.0, 500.0, 64.0, 64.0) == pytest.approx(2 * (peak - 8) / 500)
    assert seconds_of([(1.0, 0.0, 0.0, 0.0, 100.0)]) == pytest.approx(2 * (peak - 8) / 500)


def test_a_straight_line_in_pieces_takes_as_long_as_in_one_piece() -> None:
    pieces = [(10.0 * i, 0.0, 0.0, 0.0, 50.0) for i in range(1, 11)]
    assert seconds_of(pieces) == pytest.approx(seconds_of([(100.0, 0.0, 0.0, 0.0, 50.0)]))


def test_a_sharp_corner_slows_to_the_jerk_speed() -> None:
    straight = seconds_of([(50.0, 0.0, 0.0, 0.0, 50.0), (100.0, 0.0, 0.0, 0.0, 50.0)])
    corner = seconds_of([(50.0, 0.0, 0.0, 0.0, 50.0), (50.0, 50.0, 0.0, 0.0, 50.0)])
    reverse = seconds_of([(50.0, 0.0, 0.0, 0.0, 50.0), (0.0, 0.0, 0.0, 0.0, 50.0)])
    one_stop = seconds_of([(50.0, 0.0, 0.0, 0.0, 50.0)])
    assert straight < corner <= reverse
    assert reverse == pytest.approx(2 * one_stop)  # a reversal is a full stop at jerk speed


def test_feedrate_is_capped_per_axis() -> None:
    # Z moves at no more than 10 mm/s whatever F asks for.
    assert seconds_of([(0.0, 0.0, 10.0, 0.0, 100.0)]) > 1.0


def test_raising_the_acceleration_makes_short_moves_faster() -> None:
    moves = [(float(i % 2), float(i), 0.0, 0.0, 100.0) for i in range(1, 200)]
    faster = replace(
        LIMITS,
        max_acceleration=(5000.0, 5000.0, 100.0, 5000.0),
        extruding_acceleration=5000.0,
        travel_acceleration=5000.0,
    )
    assert seconds_of(moves, faster) < seconds_of(moves)


def test_extrude_only_moves_take_the_retraction_acceleration() -> None:
    retract = seconds_of([(0.0, 0.0, 0.0, -5.0, 45.0)])
    slower = replace(LIMITS, retracting_acceleration=100.0, retracting_ceiling=100.0)
    assert seconds_of([(0.0, 0.0, 0.0, -5.0, 45.0)], slower) > retract


def random_program(seed: int, count: int) -> list[Record]:
    rng = random.Random(seed)
    records: list[Record] = []
    e = 0.0
    for _ in range(count):
        kind = rng.random()
        x, y = rng.uniform(0, 220), rng.uniform(0, 220)
        if kind < 0.1:  # retract / unretract
            e += rng.choice((-5.0, 5.0))
            records.append((*records[-1][:3], e, 45.0) if records else (0.0, 0.0, 0.0, e, 45.0))
            continue
        if kind < 0.4:  # short segments of a curve
            x0, y0 = records[-1][:2] if records else (100.0, 100.0)
            x, y = x0 + rng.uniform(-0.5, 0.5), y0 + rng.uniform(-0.5, 0.5)
        z = 0.2 if kind < 0.95 else rng.uniform(0.2, 5.0)
        e += rng.uniform(0.0, 1.0) if kind < 0.7 else 0.0
        records.append((x, y, z, e, rng.choice((20.0, 30.0, 60.0, 120.0, 200.0))))
    return records


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_numpy_planner_gives_the_pure_python_answer(seed: int) -> None:
    records = random_program(seed, 3 * WINDOW + KEEP // 2)
    pure, vectorised = MotionPlanner(LIMITS), NumpyMotionPlanner(LIMITS)
    for planner in (pure, vectorised):
        for start in range(0, len(records), 700):  # batches, as the interpreter hands them
            planner.add(flat(records[start : start + 700]))
        planner.stop()
    assert vectorised.totals.blocks == pure.totals.blocks
    for field in (
        "seconds",
        "travel_mm",
        "extrude_mm",
        "max_extrude_feedrate_mm_s",
        "max_travel_feedrate_mm_s",
        "min_x",
        "max_x",
        "min_y",
        "max_y",
        "max_z",
    ):
        assert getattr(vectorised.totals, field) == pytest.approx(
            getattr(pure.totals, field), rel=1e-9
        ), field


def test_both_planners_time_a_reference_program_alike(shared_reference: Path) -> None:
    text = (shared_reference / "gcode" / "cube_20mm_prusa.gcode").read_text()
    profile = load_profile("generic-220")
    pure = analyze(text, profile, planner="python")
    vectorised = analyze(text, profile, planner="numpy")
    assert (pure.planner, vectorised.planner) == ("python", "numpy")
    assert vectorised.print_seconds == pytest.approx(pure.print_seconds, rel=1e-9)
    assert vectorised.extrusion_box == pure.extrusion_box


def test_a_stop_waits_for_every_move_and_a_dwell_adds_its_time() -> None:
    program = "G28\nG1 X100 F3000\nG4 P1500\nG4 S2\nG1 X0\n"
    with_dwell = analyze(program, planner="python")
    without = analyze("G28\nG1 X100 F3000\nM400\nG1 X0\n", planner="python")
    assert with_dwell.dwell_seconds == pytest.approx(3.5)
    assert with_dwell.print_seconds == pytest.approx(without.print_seconds + 3.5)


def test_speed_factor_shortens_the_estimate() -> None:
    moves = "".join(f"G1 X{i % 2 * 100} Y{i} F1200\n" for i in range(50))
    normal = analyze("G28\n" + moves, planner="python")
    fast = analyze("G28\nM220 S200\n" + moves, planner="python")
    assert fast.print_seconds < 0.6 * normal.print_seconds


def test_limits_set_in_the_program_are_planned_with() -> None:
    moves = "".join(f"G1 X{i % 2 * 100} Y{i} F6000\n" for i in range(50))
    profile = load_profile("generic-220")
    slow = analyze("G28\nM204 P100 T100\n" + moves, profile, planner="python")
    normal = analyze("G28\n" + moves, profile, planner="python")
    assert slow.print_seconds > normal.print_seconds
