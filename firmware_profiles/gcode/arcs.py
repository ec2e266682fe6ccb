"""G2/G3 arcs: the centre from I/J or R, and the chords Marlin cuts the arc into.

The interpreter moves along the chords like the firmware does, so the time estimate, the
extrusion box and the bed check all see the arc's real extent (an arc between two points
on the bed can bulge off it). Segment lengths follow Marlin's `plan_arc`: at most 0.02 mm
from the true arc, at least 50 segments per second, between 0.1 and 2 mm.
"""

from __future__ import annotations

from math import atan2, cos, hypot, pi, sin, sqrt

MAX_DEVIATION_MM = 0.02
MIN_SEGMENTS_PER_S = 50.0
MIN_SEGMENT_MM = 0.1
MAX_SEGMENT_MM = 2.0
MAX_SEGMENTS = 2_000  # a whole circle round a 220 mm bed needs 350; a hostile radius gets no more


def centre_from_radius(
    start: tuple[float, float], end: tuple[float, float], radius: float, clockwise: bool
) -> tuple[float, float] | None:
    """The centre of the arc of `radius` from start to end (negative R: the long way);
    None when the points are the same or further apart than the diameter."""
    (x1, y1), (x2, y2) = start, end
    dx, dy = x2 - x1, y2 - y1
    chord = hypot(dx, dy)
    if radius == 0 or chord == 0:
        return None
    half = chord / 2
    if abs(radius) < half - 1e-9:
        return None
    height = sqrt(max(radius * radius - half * half, 0.0))
    side = -1.0 if clockwise != (radius < 0) else 1.0
    mx, my = (x1 + x2) / 2, (y1 + y2) / 2
    return (mx - side * height * dy / chord, my + side * height * dx / chord)


def arc_points(
    start: tuple[float, float],
    end: tuple[float, float],
    centre: tuple[float, float],
    clockwise: bool,
    feed_mm_s: float,
) -> list[tuple[float, float, float]]:
    """The chord end points of the arc, each with the fraction of the arc done; the last
    point is exactly `end`."""
    cx, cy = centre
    rx, ry = start[0] - cx, start[1] - cy
    ex, ey = end[0] - cx, end[1] - cy
    radius = hypot(rx, ry)
    angle = atan2(rx * ey - ry * ex, rx * ex + ry * ey)
    if angle < 0:
        angle += 2 * pi
    if clockwise:
        angle -= 2 * pi
    if abs(start[0] - end[0]) < 1e-9 and abs(start[1] - end[1]) < 1e-9:
        angle = -2 * pi if clockwise else 2 * pi
    segment = min(sqrt(8 * radius * MAX_DEVIATION_MM), feed_mm_s / MIN_SEGMENTS_PER_S)
    segment = min(max(segment, MIN_SEGMENT_MM), MAX_SEGMENT_MM)
    count = max(int(radius * abs(angle) / segment + 0.8), 1)
    count = min(count, MAX_SEGMENTS)
    start_angle = atan2(ry, rx)
    points = []
    for i in range(1, count):
        theta = start_angle + angle * i / count
        points.append((cx + radius * cos(theta), cy + radius * sin(theta), i / count))
    points.append((end[0], end[1], 1.0))
    return points
