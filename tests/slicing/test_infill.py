"""Infill patterns: density as asked, lines inside the region, skins that fill solid."""

from __future__ import annotations

import manifold3d
import numpy as np
import pytest

from slicing.infill import scanline_segments, solid_lines, sparse_lines

SQUARE = manifold3d.CrossSection.square([40.0, 40.0]).translate([3.0, 7.0])
STEP = 0.407  # line spacing of a 0.45 mm line at 0.2 mm layers


def _length(lines: list[np.ndarray]) -> float:
    return float(sum(np.hypot(*np.diff(line, axis=0).T).sum() for line in lines))


def _pattern_length(lines: list[np.ndarray], pattern: str) -> float:
    """Length of the pattern itself: straight patterns come as line, link, line, ... with
    links along the edge that join neighbouring lines, which are not part of the density."""
    if pattern not in ("grid", "lines"):
        return _length(lines)
    return float(sum(np.hypot(*(line[1::2] - line[0::2]).T).sum() for line in lines))


@pytest.mark.parametrize("pattern", ["grid", "lines", "gyroid", "honeycomb"])
@pytest.mark.parametrize("density", [0.1, 0.2, 0.4])
def test_sparse_pattern_covers_the_asked_density(pattern: str, density: float) -> None:
    covered = []
    for layer, z in enumerate([0.3, 0.9, 1.7, 2.5]):
        lines = sparse_lines(SQUARE, pattern, density, STEP, 45.0, layer, z)
        covered.append(_pattern_length(lines, pattern) * STEP / SQUARE.area())
    assert np.mean(covered) == pytest.approx(density, rel=0.12)


def test_neighbouring_sparse_lines_are_joined_along_the_edge() -> None:
    lines = sparse_lines(SQUARE, "lines", 0.2, STEP, 45.0, 0, 0.3)
    assert len(lines) <= 3  # one zigzag, give or take the corners
    links = [np.hypot(*(line[2::2] - line[1:-1:2]).T) for line in lines]
    gap = STEP / 0.2
    assert max(float(link.max()) for link in links if len(link)) <= 1.5 * gap


@pytest.mark.parametrize("pattern", ["grid", "lines", "gyroid", "honeycomb"])
def test_sparse_lines_stay_inside_the_region(pattern: str) -> None:
    ring = SQUARE - manifold3d.CrossSection.circle(8.0, 64).translate([23.0, 27.0])
    lines = sparse_lines(ring, pattern, 0.25, STEP, 45.0, 1, 1.3)
    points = np.vstack(lines)
    assert points[:, 0].min() >= 3.0 - 1e-3 and points[:, 0].max() <= 43.0 + 1e-3
    assert points[:, 1].min() >= 7.0 - 1e-3 and points[:, 1].max() <= 47.0 + 1e-3
    # No point inside the hole (its radius minus a tolerance for chord sampling).
    assert np.hypot(points[:, 0] - 23.0, points[:, 1] - 27.0).min() > 8.0 - 0.05


def test_gyroid_changes_with_height() -> None:
    low = sparse_lines(SQUARE, "gyroid", 0.2, STEP, 45.0, 0, 0.3)
    high = sparse_lines(SQUARE, "gyroid", 0.2, STEP, 45.0, 1, 1.5)
    assert not np.allclose(low[0][:5], high[0][:5])


def test_scanlines_of_a_square_are_evenly_spaced_and_zigzag() -> None:
    square = manifold3d.CrossSection.square([10.0, 10.0])
    segments = scanline_segments(square, 0.0, 1.0, phase_mm=0.5)
    assert len(segments) == 10
    assert segments[:, 0, 1] == pytest.approx(np.arange(0.5, 10.0, 1.0))
    # Alternate lines run in opposite directions.
    assert segments[0, 0, 0] < segments[0, 1, 0]
    assert segments[1, 0, 0] > segments[1, 1, 0]


def test_scanlines_skip_holes() -> None:
    ring = manifold3d.CrossSection.square([10.0, 10.0]) - manifold3d.CrossSection.square(
        [4.0, 4.0]
    ).translate([3.0, 3.0])
    segments = scanline_segments(ring, 0.0, 1.0, phase_mm=0.5)
    middle = segments[np.isclose(segments[:, 0, 1], 4.5)]
    assert len(middle) == 2  # left and right of the hole


def test_solid_skin_fills_the_region_in_one_connected_zigzag() -> None:
    lines = solid_lines(SQUARE, STEP, 45.0)
    assert len(lines) == 1
    assert _length(lines) * STEP / SQUARE.area() == pytest.approx(1.0, abs=0.05)


def test_bridge_threads_cross_the_short_way() -> None:
    from slicing.infill import bridge_lines

    gap = manifold3d.CrossSection.square([30.0, 6.0])  # long and narrow: cross the 6 mm
    threads = bridge_lines(gap, 0.4)
    points = np.vstack(threads)
    steps = np.diff(points, axis=0)
    longest = steps[np.argmax(np.hypot(*steps.T))]
    assert abs(longest[1]) > 5.0 and abs(longest[0]) < 0.5
