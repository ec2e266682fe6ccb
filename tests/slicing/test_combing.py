"""Combing: travel inside a part's walls skips the retraction; crossing a wall does not."""

from __future__ import annotations

import re

import numpy as np

from slicing import PlatePart, SliceSettings
from slicing.combing import comb, crosses_any
from slicing.plate import build_program
from slicing.toolpaths import FILL, Path

SQUARE = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]])
HOLE = np.array([[4.0, 4.0], [4.0, 6.0], [6.0, 6.0], [6.0, 4.0]])


def test_segments_crossing_a_wall_are_found() -> None:
    a = SQUARE
    b = np.roll(SQUARE, -1, axis=0)
    p = np.array([[1.0, 1.0], [1.0, 1.0], [5.0, 5.0]])
    q = np.array([[9.0, 9.0], [11.0, 5.0], [5.0, 5.5]])
    assert crosses_any(p, q, a, b).tolist() == [False, True, False]


def test_travel_around_a_hole_is_combed_but_across_it_is_not() -> None:
    def line(*points: tuple[float, float]) -> Path:
        return Path(FILL, np.array(points), False, 0.45, 60.0)

    paths = [
        line((1, 1), (1, 3)),
        line((2, 3), (2, 1)),  # beside the hole: combed
        line((8, 8), (8, 9)),
    ]  # from (2, 1) to (8, 8) passes through the hole
    comb(paths, 0, [SQUARE, HOLE])
    assert [p.combed for p in paths] == [False, True, False]


def _retractions(gcode: str) -> int:
    """Retractions in a relative-E program: `G1 E-<length>` moves."""
    return len(re.findall(r"^G1 E-", gcode, re.M))


def test_combing_saves_retractions_on_a_real_part(load_model, generic) -> None:  # type: ignore[no-untyped-def]
    relative = generic.model_copy(
        update={
            "capabilities": generic.capabilities.model_copy(update={"relative_extrusion": True})
        }
    )
    plate = [PlatePart(load_model("rocker_arm.stl"), 110, 110, 0, "rocker")]
    combed = build_program(plate, relative, "PLA", SliceSettings.for_quality("standard")).gcode
    straight = build_program(
        plate, relative, "PLA", SliceSettings.for_quality("standard", combing=False)
    ).gcode
    assert _retractions(combed) < 0.7 * _retractions(straight)
    assert _retractions(combed) > 0  # the holes and the islands still need them
