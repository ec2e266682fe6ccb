"""Infill: solid skins and sparse patterns (grid, lines, gyroid, honeycomb) as polylines.

Straight-line patterns are clipped with a vectorised scanline pass: every polygon edge is
expanded against the scanlines it crosses in one numpy step, the crossings are sorted and
paired even-odd. Lines are drawn in zigzag order and neighbouring lines are joined by a
short extrusion when their ends are close, as slicers do for solid skins. Curved patterns
(gyroid, honeycomb) are sampled as polylines and clipped with Clipper's open-path clipping.
All patterns are anchored to the plate origin, so they stack layer on layer.
"""

from __future__ import annotations

import math

import manifold3d
import numpy as np
import pyclipper

_CLIPPER_SCALE = 1000.0  # Clipper works on integers: micrometres


def polygon_edges(polygons: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """All edges of closed polygons as (start, end) arrays of shape (E, 2)."""
    starts = np.concatenate(polygons)
    sizes = np.array([len(p) for p in polygons])
    following = np.arange(1, len(starts) + 1)
    following[np.cumsum(sizes) - 1] = np.cumsum(sizes) - sizes  # each polygon closes
    return starts, starts[following]


def _crossings(
    region: manifold3d.CrossSection, angle_deg: float, step_mm: float, phase_mm: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Scanline intervals in the rotated frame: (x_start, x_end, y, line number, rotation).

    Sorted by line, then along the line. The rotation maps the frame back to the plate.
    """
    polygons = [p for p in region.to_polygons() if len(p) >= 3]
    if not polygons or step_mm <= 0:
        return None
    angle = math.radians(angle_deg)
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, s], [-s, c]])  # rotate by -angle: lines become horizontal
    starts, ends = polygon_edges(polygons)
    p0 = starts @ rot.T
    p1 = ends @ rot.T
    lo = np.minimum(p0[:, 1], p1[:, 1])
    hi = np.maximum(p0[:, 1], p1[:, 1])
    first = np.ceil((lo - phase_mm) / step_mm).astype(np.int64)
    last = np.ceil((hi - phase_mm) / step_mm).astype(np.int64) - 1  # half-open [lo, hi)
    counts = np.maximum(last - first + 1, 0)
    total = int(counts.sum())
    if total == 0 or total % 2:
        return None
    edge = np.repeat(np.arange(len(counts)), counts)
    within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    line = first[edge] + within
    y = phase_mm + line * step_mm
    x0, y0 = p0[edge, 0], p0[edge, 1]
    x1, y1 = p1[edge, 0], p1[edge, 1]
    x = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    order = np.lexsort((x, line))
    x, y, line = x[order], y[order], line[order]
    xa, xb = x[0::2], x[1::2]
    keep = (xb - xa) > 1e-3
    return xa[keep], xb[keep], y[0::2][keep], line[0::2][keep], rot


def scanline_segments(
    region: manifold3d.CrossSection, angle_deg: float, step_mm: float, phase_mm: float = 0.0
) -> np.ndarray:
    """Segments (K, 2, 2) of parallel lines at `angle_deg`, `step_mm` apart, inside `region`.

    Ordered strip by strip: segments of neighbouring lines that overlap form a strip, drawn
    in zigzag (alternate segments reversed), so consecutive segments are close together.
    """
    found = _crossings(region, angle_deg, step_mm, phase_mm)
    if found is None:
        return np.zeros((0, 2, 2))
    xa, xb, y, line, rot = found
    order, reverse = _strips(xa, xb, line)
    xa, xb, y = xa[order], xb[order], y[order]
    xa, xb = np.where(reverse, xb, xa), np.where(reverse, xa, xb)
    a = np.column_stack([xa, y]) @ rot
    b = np.column_stack([xb, y]) @ rot
    return np.stack([a, b], axis=1)


def _strips(xa: np.ndarray, xb: np.ndarray, line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order of the intervals strip by strip, and which to draw reversed.

    An interval on line k links to the first interval of line k + 1 that overlaps it when
    that one's first overlapping interval on line k is this one; linked intervals form a
    strip. Intervals arrive sorted by line and position, so both lookups are one
    `searchsorted`, and each interval's strip and depth come from pointer doubling.
    """
    count = len(xa)
    if count == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    low = min(float(xa.min()), float(xb.min())) - 1.0
    stride = max(float(xa.max()), float(xb.max())) - low + 1.0
    ends = line * stride + (xb - low)  # sorted: intervals on a line are disjoint
    index = np.arange(count)

    def first_overlap(target_line: np.ndarray) -> np.ndarray:
        slot = np.searchsorted(ends, target_line * stride + (xa - low), side="right")
        slot = np.minimum(slot, count - 1)
        found = (line[slot] == target_line) & (xa[slot] < xb) & (xb[slot] > xa)
        return np.where(found, slot, -1)

    after = first_overlap(line + 1)
    before = first_overlap(line - 1)
    linked = after >= 0
    linked[linked] = before[after[linked]] == index[linked]
    parent = index.copy()
    children = after[linked]
    parent[children] = index[linked]
    depth = (parent != index).astype(np.int64)
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            break
        depth = depth + depth[parent]
        parent = grand
    order = np.lexsort((depth, parent))
    return order, (depth[order] % 2) == 1


def join_segments(segments: np.ndarray, max_link_mm: float) -> list[np.ndarray]:
    """Polylines from ordered segments, linking an end to the next start when it is close."""
    if len(segments) == 0:
        return []
    gaps = np.hypot(*(segments[1:, 0] - segments[:-1, 1]).T)
    breaks = np.flatnonzero(gaps > max_link_mm) + 1
    points = segments.reshape(-1, 2)
    return [
        points[2 * lo : 2 * hi]
        for lo, hi in zip(
            np.concatenate([[0], breaks]), np.concatenate([breaks, [len(segments)]]), strict=True
        )
    ]


def solid_lines(
    region: manifold3d.CrossSection, step_mm: float, angle_deg: float
) -> list[np.ndarray]:
    """Solid skin: lines `step_mm` apart, the outer ones half a step inside the region."""
    inset = region.offset(-step_mm / 2, manifold3d.JoinType.Miter, 2.0)
    segments = scanline_segments(inset, angle_deg, step_mm, phase_mm=step_mm / 2)
    return join_segments(segments, max_link_mm=2.5 * step_mm)


def bridge_lines(region: manifold3d.CrossSection, nozzle_mm: float) -> list[np.ndarray]:
    """Threads across a bridge, along the direction in which the bridge is shortest."""
    inset = region.offset(-nozzle_mm / 2, manifold3d.JoinType.Miter, 2.0)
    polygons = [p for p in inset.to_polygons() if len(p) >= 3]
    if not polygons:
        return []
    points = np.concatenate(polygons)
    angles = np.radians(np.arange(0.0, 180.0, 15.0))
    along = points @ np.stack([np.cos(angles), np.sin(angles)])  # (N, angles)
    best = float(np.degrees(angles[int(np.argmin(along.max(axis=0) - along.min(axis=0)))]))
    segments = scanline_segments(inset, best, nozzle_mm, phase_mm=nozzle_mm / 2)
    return join_segments(segments, max_link_mm=2.5 * nozzle_mm)


def sparse_lines(
    region: manifold3d.CrossSection,
    pattern: str,
    density: float,
    step_mm: float,
    angle_deg: float,
    layer_index: int,
    z_mm: float,
) -> list[np.ndarray]:
    """Sparse infill polylines of the chosen pattern and density (0..1)."""
    if density <= 0 or region.is_empty():
        return []
    if density >= 0.999:
        return solid_lines(region, step_mm, angle_deg + 90 * (layer_index % 2))
    if pattern == "lines":
        angle = angle_deg + 90 * (layer_index % 2)
        gap = step_mm / density
        return join_segments(scanline_segments(region, angle, gap), max_link_mm=1.5 * gap)
    if pattern == "grid":
        gap = 2 * step_mm / density
        first = scanline_segments(region, angle_deg, gap)
        second = scanline_segments(region, angle_deg + 90, gap)
        return join_segments(first, max_link_mm=1.5 * gap) + join_segments(
            second, max_link_mm=1.5 * gap
        )
    if pattern == "gyroid":
        cell = 2.43 * step_mm / density  # gyroid line length per area is ~2.43 / cell
        return clip_open(gyroid_curves(region.bounds(), cell, z_mm), region)
    if pattern == "honeycomb":
        side = 1.54 * step_mm / density  # honeycomb line length per area is ~1.54 / side
        return clip_open(honeycomb_curves(region.bounds(), side), region)
    raise ValueError(f"unknown infill pattern {pattern!r}")


def gyroid_curves(bounds: tuple[float, ...], cell_mm: float, z_mm: float) -> list[np.ndarray]:
    """The gyroid surface cut at height z, as polylines covering `bounds`."""
    min_x, min_y, max_x, max_y = (float(v) for v in bounds)
    k = 2 * math.pi / cell_mm
    zk = z_mm * k
    sin_z, cos_z = math.sin(zk), math.cos(zk)
    along_x = abs(cos_z) >= abs(sin_z)
    lo_t, hi_t = (min_x, max_x) if along_x else (min_y, max_y)
    lo_u, hi_u = (min_y, max_y) if along_x else (min_x, max_x)
    t = np.arange(math.floor(lo_t * k / 0.4) * 0.4, hi_t * k + 0.4, 0.4)  # ~15 samples/cell
    if along_x:  # sin t cos u + cos z sin u = -sin z cos t  -> solve for u(t)
        a, b, rhs = np.sin(t), np.full_like(t, cos_z), -sin_z * np.cos(t)
    else:  # sin z cos u + cos t sin u = -sin t cos z  (t = y, u = x)
        a, b, rhs = np.full_like(t, sin_z), np.cos(t), -np.sin(t) * cos_z
    radius = np.hypot(a, b)
    phase = np.unwrap(np.arctan2(b, a))  # no 2*pi jumps inside a curve
    spread = np.arccos(np.clip(rhs / radius, -1.0, 1.0))
    curves = []
    first_turn = math.floor(lo_u * k / (2 * math.pi)) - 1
    last_turn = math.ceil(hi_u * k / (2 * math.pi)) + 1
    for turn in range(first_turn, last_turn + 1):
        for sign in (1.0, -1.0):
            u = phase + sign * spread + 2 * math.pi * turn
            pts = np.column_stack([t, u]) / k if along_x else np.column_stack([u, t]) / k
            curves.append(pts)
    return curves


def honeycomb_curves(bounds: tuple[float, ...], side_mm: float) -> list[np.ndarray]:
    """Columns of a hexagon grid (pointy side up) as zigzag polylines covering `bounds`."""
    min_x, min_y, max_x, max_y = (float(v) for v in bounds)
    half_w = math.sqrt(3) / 2 * side_mm
    period = 3 * side_mm
    start_y = math.floor(min_y / period) * period
    cycles = math.ceil((max_y - start_y) / period) + 1
    base = np.arange(cycles) * period + start_y
    unit_y = np.array([0.0, side_mm, 1.5 * side_mm, 2.5 * side_mm])
    unit_x = np.array([0.0, 0.0, 1.0, 1.0])
    ys = np.concatenate([(base[:, None] + unit_y).ravel(), [base[-1] + period]])
    bulge = np.concatenate([np.tile(unit_x, cycles), [0.0]])
    first = math.floor(min_x / (2 * half_w)) * 2 - 2
    last = math.ceil(max_x / (2 * half_w)) * 2 + 2
    curves = []
    for column in range(first, last + 1):
        x0 = 2 * half_w * ((column + 1) // 2)
        sign = 1.0 if column % 2 == 0 else -1.0
        curves.append(np.column_stack([x0 + sign * half_w * bulge, ys]))
    return curves


def clip_open(curves: list[np.ndarray], region: manifold3d.CrossSection) -> list[np.ndarray]:
    """The parts of open polylines inside `region` (Clipper open-path clipping)."""
    polygons = [p for p in region.to_polygons() if len(p) >= 3]
    if not curves or not polygons:
        return []
    clipper = pyclipper.Pyclipper()
    subject = [np.round(c * _CLIPPER_SCALE).astype(np.int64).tolist() for c in curves]
    clip = [np.round(p * _CLIPPER_SCALE).astype(np.int64).tolist() for p in polygons]
    clipper.AddPaths(subject, pyclipper.PT_SUBJECT, False)
    clipper.AddPaths(clip, pyclipper.PT_CLIP, True)
    tree = clipper.Execute2(pyclipper.CT_INTERSECTION, pyclipper.PFT_EVENODD, pyclipper.PFT_EVENODD)
    paths = pyclipper.OpenPathsFromPolyTree(tree)
    return [np.asarray(p, dtype=np.float64) / _CLIPPER_SCALE for p in paths if len(p) >= 2]
