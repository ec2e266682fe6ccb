"""Plate packing: bottom-left placement of convex outlines with no-fit polygons.

A part B may sit at reference point q next to a placed part A exactly when q lies outside
the no-fit polygon A + (-B) grown by the spacing. With support functions that polygon is one
vector addition (see `geometry`), and all of them are evaluated at once for every placed part
and every allowed rotation. For each column x of a 2.5 mm grid (0.5 mm around the best place)
the lowest free y is found by
pushing y above every blocking no-fit polygon; the lowest column wins (then the leftmost),
which is the classic bottom-left rule. The support polygons contain the true ones, so a
place found here always keeps the spacing; `validate` checks that with exact polygons.

Shapes are interned in a `ShapeLibrary` by their outline, so the thousand identical units
of a job share one hull, one support function and one "does it fit this bed" answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scheduler import geometry as geo
from scheduler.geometry import DIRECTIONS, FloatArray

K = DIRECTIONS
HALF = K // 2
COARSE_MM = 2.5  # column spacing when comparing rotations
FINE_MM = 0.5  # column spacing around the best coarse place
EPS = 1e-6
SLACK_MM = 0.01  # kept beyond spacing and margins: rounding to 0.001 mm never eats into them


@dataclass(frozen=True)
class Bed:
    """A bed as the packer sees it: usable region and the rules for spacing and rotation."""

    shape: str  # "rectangle" | "circle"
    width_mm: float
    depth_mm: float
    margin_mm: float
    spacing_mm: float
    rotation_step_deg: int

    @property
    def area_mm2(self) -> float:
        if self.shape == "circle":
            return float(np.pi * (self.width_mm / 2.0) ** 2)
        return self.width_mm * self.depth_mm

    @property
    def rotation_steps(self) -> list[int]:
        step = self.rotation_step_deg // int(geo.STEP_DEG)
        return list(range(0, K, step)) if step < K else [0]


@dataclass
class Shape:
    """One distinct convex outline (many parts may share it)."""

    index: int
    hull: FloatArray
    area: float
    perimeter: float
    h: FloatArray  # support samples, (K,)
    rotated_hulls: dict[int, FloatArray] = field(default_factory=dict)
    rotated_supports: dict[int, FloatArray] = field(default_factory=dict)

    def support_at(self, steps: int) -> FloatArray:
        """Support samples rotated by `steps`, and those of the mirrored shape (-B)."""
        found = self.rotated_supports.get(steps)
        if found is None:
            found = geo.rotated_support(self.h, steps)
            self.rotated_supports[steps] = found
        return found

    def hull_at(self, steps: int) -> FloatArray:
        found = self.rotated_hulls.get(steps)
        if found is None:
            found = geo.rotate(self.hull, steps * geo.STEP_DEG)
            self.rotated_hulls[steps] = found
        return found

    def inflated_area(self, spacing_mm: float) -> float:
        """Area the part claims on a bed with half the spacing around it."""
        r = spacing_mm / 2.0
        return self.area + self.perimeter * r + np.pi * r * r


class ShapeLibrary:
    """Interns outlines: equal outlines (to 0.01 mm) get one `Shape`."""

    def __init__(self) -> None:
        self.shapes: list[Shape] = []
        self._index: dict[bytes, int] = {}
        self._fits: dict[tuple[int, Bed], bool] = {}

    def intern(self, outline: FloatArray) -> int:
        key = np.round(np.asarray(outline, dtype=np.float64), 2).tobytes()
        found = self._index.get(key)
        if found is not None:
            return found
        hull = geo.convex_hull(np.asarray(outline, dtype=np.float64))
        shape = Shape(
            len(self.shapes),
            hull,
            geo.polygon_area(hull),
            geo.polygon_perimeter(hull),
            geo.support(hull),
        )
        self.shapes.append(shape)
        self._index[key] = shape.index
        return shape.index

    def fits(self, shape: int, bed: Bed) -> bool:
        """Whether the outline fits an empty bed in some allowed rotation."""
        key = (shape, bed)
        found = self._fits.get(key)
        if found is None:
            found = Layout(bed, self).place(shape) is not None
            self._fits[key] = found
        return found


@dataclass(frozen=True)
class Placed:
    shape: int
    steps: int  # rotation in 5-degree steps
    x: float
    y: float

    @property
    def rotation_deg(self) -> float:
        return self.steps * geo.STEP_DEG


class Layout:
    """One plate being filled: place parts one at a time, bottom-left."""

    def __init__(self, bed: Bed, library: ShapeLibrary) -> None:
        self.bed = bed
        self.library = library
        self.placed: list[Placed] = []
        self.used_area = 0.0
        # support of each placed part, moved to its place and grown by the spacing: (I, K)
        self._grown = np.zeros((0, K))
        self._failed: set[int] = set()

    def place(self, shape_index: int) -> Placed | None:
        """Put the shape at its bottom-left position, or None when it does not fit."""
        if shape_index in self._failed:
            return None  # the plate only gets fuller: a shape that failed fails again
        shape = self.library.shapes[shape_index]
        best = self._best_position(shape)
        if best is None:
            self._failed.add(shape_index)
            return None
        steps, x, y = best
        placed = Placed(shape_index, steps, x, y)
        self.adopt(placed)
        return placed

    def adopt(self, placed: Placed) -> None:
        """Record a part at a known place (a nesting found earlier for the same parts)."""
        shape = self.library.shapes[placed.shape]
        self.placed.append(placed)
        self.used_area += shape.area
        grown = shape.support_at(placed.steps) + self.bed.spacing_mm + SLACK_MM
        grown = grown + placed.x * geo.UNIT[:, 0] + placed.y * geo.UNIT[:, 1]
        self._grown = np.vstack([self._grown, grown[None, :]])

    def utilisation(self) -> float:
        return self.used_area / self.bed.area_mm2

    def _best_position(self, shape: Shape) -> tuple[int, float, float] | None:
        """Coarse columns over every rotation, then fine columns around the winner."""
        best: tuple[float, float, int, float, float] | None = None
        for steps in self.bed.rotation_steps:
            found = self._lowest_in_rotation(shape, steps, COARSE_MM)
            if found is None:
                continue
            x, y, top = found
            if best is None or (round(top, 6), round(x, 6)) < best[:2]:
                best = (round(top, 6), round(x, 6), steps, x, y)
        if best is None:
            return None
        steps, x = best[2], best[3]
        fine = self._lowest_in_rotation(shape, steps, FINE_MM, (x - COARSE_MM, x + COARSE_MM))
        if fine is not None and (round(fine[2], 6), round(fine[0], 6)) < best[:2]:
            return steps, fine[0], fine[1]
        return steps, best[3], best[4]

    def _lowest_in_rotation(
        self,
        shape: Shape,
        steps: int,
        step_mm: float,
        window: tuple[float, float] | None = None,
    ) -> tuple[float, float, float] | None:
        """(x, y, top of the part) of the lowest free place in this rotation, or None."""
        h = shape.support_at(steps)
        columns, floor, ceiling = self._inner_fit(shape, steps, h, step_mm, window)
        if columns.size == 0:
            return None
        y = floor.copy()
        if len(self.placed):
            lo, hi = self._nfp_intervals(shape.support_at((steps + HALF) % K), columns)
            y = _push_above(y, lo, hi)
        ok = y <= ceiling + EPS
        if not ok.any():
            return None
        top_of_part = y + h[K // 4]  # lowest top edge first: keeps rows flat
        candidates = np.flatnonzero(ok)
        pick = candidates[np.lexsort((columns[candidates], top_of_part[candidates]))[0]]
        return float(columns[pick]), float(min(y[pick], ceiling[pick])), float(top_of_part[pick])

    def _inner_fit(
        self,
        shape: Shape,
        steps: int,
        h: FloatArray,
        step_mm: float,
        window: tuple[float, float] | None,
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Columns where the reference point keeps the part on the bed, with y bounds."""
        bed, m = self.bed, self.bed.margin_mm + SLACK_MM
        x_lo, x_hi = m + h[HALF], bed.width_mm - m - h[0]
        if window is not None:
            x_lo, x_hi = max(x_lo, window[0]), min(x_hi, window[1])
        if x_hi < x_lo - EPS:
            return np.zeros(0), np.zeros(0), np.zeros(0)
        columns = _grid(x_lo, x_hi, step_mm)
        if bed.shape == "rectangle":
            floor = np.full(columns.shape, m + h[3 * K // 4])
            ceiling = np.full(columns.shape, bed.depth_mm - m - h[K // 4])
            return columns, floor, ceiling
        return _circle_fit(shape.hull_at(steps), columns, bed)

    def _nfp_intervals(
        self, mirrored: FloatArray, columns: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """For each column and placed part, the y-interval where the new part would collide.

        `mirrored`: the new part's support samples turned half a circle, i.e. those of -B.
        """
        nfp = self._grown + mirrored[None, :]  # (I, K): support of A + (-B)
        vx, vy = geo.support_vertices(nfp)
        count = nfp.shape[0]
        lower_x = np.maximum.accumulate(vx[:, HALF:], axis=1)
        lower_y = vy[:, HALF:]
        upper_x = np.maximum.accumulate(vx[:, HALF - 1 :: -1], axis=1)
        upper_y = vy[:, HALF - 1 :: -1]
        left, right = -nfp[:, HALF], nfp[:, 0]
        span = float(self.bed.width_mm + self.bed.depth_mm) * 4.0 + 1000.0
        offsets = (np.arange(count) * span)[:, None]
        queries = (columns[None, :] + offsets).ravel()
        lo = np.interp(queries, (lower_x + offsets).ravel(), lower_y.ravel()).reshape(count, -1)
        hi = np.interp(queries, (upper_x + offsets).ravel(), upper_y.ravel()).reshape(count, -1)
        inside = (columns[None, :] > left[:, None] + EPS) & (
            columns[None, :] < right[:, None] - EPS
        )
        lo = np.where(inside, lo, np.inf)
        hi = np.where(inside, hi, -np.inf)
        return lo.T, hi.T  # (X, I)


def _grid(lo: float, hi: float, step_mm: float) -> FloatArray:
    if hi - lo < step_mm:
        return np.array([lo]) if hi >= lo - EPS else np.zeros(0)
    columns = np.arange(lo, hi, step_mm)
    return np.append(columns, hi) if hi - columns[-1] > EPS else columns


def _push_above(y: FloatArray, lo: FloatArray, hi: FloatArray) -> FloatArray:
    """Raise each column's y until it is inside no interval (lo, hi)."""
    for _ in range(lo.shape[1] + 1):
        blocked = (lo < y[:, None] - EPS) & (y[:, None] < hi - EPS)
        if not blocked.any():
            break
        raised = np.where(blocked, hi, -np.inf).max(axis=1)
        y = np.where(blocked.any(axis=1), raised, y)
    return y


def _circle_fit(
    hull: FloatArray, columns: FloatArray, bed: Bed
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Round bed: every vertex within (radius - margin) of the centre."""
    radius = bed.width_mm / 2.0 - bed.margin_mm - SLACK_MM
    centre = bed.width_mm / 2.0
    dx = columns[:, None] + hull[None, :, 0] - centre  # (X, V)
    reach = radius * radius - dx * dx
    room = np.sqrt(np.clip(reach, 0.0, None))
    floor = (centre - hull[None, :, 1] - room).max(axis=1)
    ceiling = (centre - hull[None, :, 1] + room).min(axis=1)
    ok = (reach >= -EPS).all(axis=1) & (floor <= ceiling + EPS)
    return columns[ok], floor[ok], ceiling[ok]
