"""The same planner as `planner.py`, with whole-array numpy instead of Python loops.

Used on the server (controller, slicer), where numpy is installed; the agent on a Pi uses
the pure-Python planner. Both give the same seconds (tests compare them). Only
`firmware_profiles.gcode.estimate` imports this module, and only when numpy is present.

The lookahead passes are written as min-plus recurrences over squared speeds. With
`c[i] = 2·a[i]·d[i]` and `C` its running sum, the backward pass
`w[i] = min(M[i], w[i+1] + c[i])` is `w[i] = min_{j≥i}(M[j] + C[j]) - C[i]`, a reversed
running minimum, and the forward pass `w[i+1] = min(w[i+1], w[i] + c[i])` is
`w[i] = C[i] + min_{j≤i}(w[j] - C[j])`, a running minimum.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from firmware_profiles.gcode.motion_limits import MotionLimits
from firmware_profiles.gcode.planner import KEEP, RECORD_FIELDS, WINDOW, MotionTotals

Array = NDArray[np.float64]
_THRESHOLD = 0.0001


class NumpyMotionPlanner:
    """`planner.MotionPlanner` with numpy kernels; same interface, same answers."""

    def __init__(self, limits: MotionLimits) -> None:
        self.limits = limits
        self.totals = MotionTotals()
        self.position: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
        self._prev: tuple[float, float, float, float, float, float] | None = None
        empty = np.empty(0)
        self._distance, self._cruise, self._acceleration = empty, empty, empty
        self._max_entry, self._safe = empty, empty
        self._held: list[float] = []  # records handed to `build`, not yet blocks

    def add(self, records: list[float]) -> None:
        self._build_all(records)
        if len(self._distance) > WINDOW:
            self._plan(KEEP)

    def build(self, records: list[float]) -> None:
        # Held and built with the next `add`, as one array: sums over an array round
        # differently when it is cut, and the estimate must not depend on where it is.
        self._held += records

    def _build_all(self, records: list[float]) -> None:
        if self._held:
            records, self._held = self._held + records, []
        if records:
            moves = np.fromiter(records, dtype=np.float64, count=len(records))
            self._build_blocks(moves.reshape(-1, RECORD_FIELDS))

    def stop(self) -> None:
        self._build_all([])
        self._plan(0)
        self._prev = None

    def _build_blocks(self, moves: Array) -> None:
        limits = self.limits
        start = np.array(self.position, dtype=np.float64)
        self.position = (
            float(moves[-1, 0]),
            float(moves[-1, 1]),
            float(moves[-1, 2]),
            float(moves[-1, 3]),
        )
        points = np.vstack((start, moves[:, :4]))
        delta = np.diff(points, axis=0)
        moving = np.any(delta != 0.0, axis=1)
        delta, feed, origin = delta[moving], moves[moving, 4], points[:-1][moving]
        if len(delta) == 0:
            return
        dx, dy, dz, de = delta[:, 0], delta[:, 1], delta[:, 2], delta[:, 3]
        e_only = (dx == 0.0) & (dy == 0.0) & (dz == 0.0)
        dist = np.where(e_only, np.abs(de), np.sqrt(dx * dx + dy * dy + dz * dz))
        extruding = (de > 0.0) & ((dx != 0.0) | (dy != 0.0))
        self._count(dist, feed, extruding, e_only, origin, origin + delta)
        feed = np.where(
            de == 0.0,
            np.maximum(feed, limits.min_travel_feedrate),
            np.maximum(feed, limits.min_extruding_feedrate),
        )
        speed = delta * (feed / dist)[:, None]
        cruise, speed = _capped_speeds(speed, feed, limits)
        acc = np.where(
            e_only,
            limits.retracting_acceleration,
            np.where(extruding, limits.extruding_acceleration, limits.travel_acceleration),
        )
        acc = _capped_acceleration(acc, np.abs(delta) / dist[:, None], limits)
        safe = cruise.copy()
        for axis in range(4):
            jerk = limits.jerk[axis]
            safe = np.where((np.abs(speed[:, axis]) > jerk) & (jerk < safe), jerk, safe)
        max_entry = self._max_entries(feed, cruise, speed, safe)
        last = len(feed) - 1
        self._prev = (
            float(feed[last]),
            float(speed[last, 0]),
            float(speed[last, 1]),
            float(speed[last, 2]),
            float(speed[last, 3]),
            float(safe[last]),
        )
        self._distance = np.concatenate((self._distance, dist))
        self._cruise = np.concatenate((self._cruise, cruise))
        self._acceleration = np.concatenate((self._acceleration, acc))
        self._max_entry = np.concatenate((self._max_entry, max_entry))
        self._safe = np.concatenate((self._safe, safe))

    def _count(
        self,
        dist: Array,
        feed: Array,
        extruding: NDArray[np.bool_],
        e_only: NDArray[np.bool_],
        origin: Array,
        end: Array,
    ) -> None:
        totals = self.totals
        travel = ~(extruding | e_only)
        totals.extrude_mm += float(np.dot(dist, extruding))
        totals.travel_mm += float(np.dot(dist, travel))
        if extruding.any():
            totals.max_extrude_feedrate_mm_s = max(
                totals.max_extrude_feedrate_mm_s, float(np.max(feed, where=extruding, initial=0.0))
            )
            for axis, low, high in (
                (0, "min_x", "max_x"),
                (1, "min_y", "max_y"),
                (2, "min_z", "max_z"),
            ):
                ends = np.concatenate((origin[extruding, axis], end[extruding, axis]))
                setattr(totals, low, min(getattr(totals, low), float(ends.min())))
                setattr(totals, high, max(getattr(totals, high), float(ends.max())))
        if travel.any():
            totals.max_travel_feedrate_mm_s = max(
                totals.max_travel_feedrate_mm_s, float(np.max(feed, where=travel, initial=0.0))
            )

    def _max_entries(self, feed: Array, cruise: Array, speed: Array, safe: Array) -> Array:
        """Each block's top junction speed with the block before it (classic Marlin jerk)."""
        limits = self.limits
        prev = self._prev
        first = prev if prev is not None else (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        prev_feed = np.concatenate(([first[0]], feed[:-1]))
        prev_speed = np.vstack((np.array(first[1:5]), speed[:-1]))
        prev_safe = np.concatenate(([first[5]], safe[:-1]))
        larger = prev_feed > cruise
        scale = np.where(larger, cruise / np.where(larger, prev_feed, 1.0), 1.0)
        junction = np.where(larger, cruise, prev_feed)
        # The factor stays exactly 1.0 on rows nothing limited yet, so scaling every row by
        # it is the same as Marlin's "if limited" branches.
        factor = np.ones_like(cruise)
        for axis in range(4):
            exit_speed = prev_speed[:, axis] * scale * factor
            entry_speed = speed[:, axis] * factor
            # Coasting the same way: the difference; reversing or stopping: the larger speed.
            change = np.where(
                exit_speed * entry_speed > 0.0,
                np.abs(exit_speed - entry_speed),
                np.maximum(np.abs(exit_speed), np.abs(entry_speed)),
            )
            jerk = limits.jerk[axis]
            over = change > jerk
            factor = np.where(over, factor * (jerk / np.where(over, change, 1.0)), factor)
        junction = junction * factor
        threshold = junction * 0.99
        junction = np.where((prev_safe > threshold) & (safe > threshold), safe, junction)
        has_prev = prev_feed > _THRESHOLD
        if prev is None:
            has_prev[0] = False
        return np.where(has_prev, junction, safe)

    def _plan(self, keep: int) -> None:
        count = len(self._distance)
        if count == 0:
            return
        keep = min(keep, count)
        distance, cruise, acc = self._distance, self._cruise, self._acceleration
        doubled = 2.0 * acc * distance
        running = np.concatenate(([0.0], np.cumsum(doubled)))
        limit = np.concatenate((self._max_entry**2, [self._safe[-1] ** 2]))
        w = np.minimum.accumulate((limit + running)[::-1])[::-1] - running
        w = running + np.minimum.accumulate(w - running)
        w = np.maximum(w, 0.0)
        done = count - keep
        self.totals.seconds += float(
            block_seconds(
                distance[:done], cruise[:done], acc[:done], w[:done], w[1 : done + 1]
            ).sum()
        )
        self.totals.blocks += done
        self._distance, self._cruise = distance[done:], cruise[done:]
        self._acceleration, self._safe = acc[done:], self._safe[done:]
        self._max_entry = self._max_entry[done:].copy()
        if keep:
            self._max_entry[0] = np.sqrt(w[done])


def block_seconds(distance: Array, cruise: Array, acc: Array, entry2: Array, exit2: Array) -> Array:
    """`planner.block_seconds` for many blocks at once."""
    cruise2 = cruise * cruise
    accelerate = np.maximum((cruise2 - entry2) / (2.0 * acc), 0.0)
    decelerate = np.maximum((cruise2 - exit2) / (2.0 * acc), 0.0)
    plateau = distance - accelerate - decelerate
    short = plateau < 0.0
    accelerate = np.where(
        short,
        np.clip((2.0 * acc * distance - entry2 + exit2) / (4.0 * acc), 0.0, distance),
        accelerate,
    )
    plateau = np.where(short, 0.0, plateau)
    peak = np.where(short, np.sqrt(entry2 + 2.0 * acc * accelerate), cruise)
    decelerate = distance - accelerate - plateau
    end2 = np.maximum(peak * peak - 2.0 * acc * decelerate, 0.0)
    return (peak - np.sqrt(entry2)) / acc + plateau / peak + (peak - np.sqrt(end2)) / acc


def _capped_speeds(speed: Array, feed: Array, limits: MotionLimits) -> tuple[Array, Array]:
    factor = np.ones_like(feed)
    for axis in range(4):
        top = limits.max_feedrate[axis]
        magnitude = np.abs(speed[:, axis])
        if top == 0.0:
            continue
        over = magnitude * factor > top
        factor = np.where(over, top / np.where(over, magnitude, 1.0), factor)
    return feed * factor, speed * factor[:, None]


def _capped_acceleration(acc: Array, share: Array, limits: MotionLimits) -> Array:
    for axis in range(4):
        top = limits.max_acceleration[axis]
        over = acc * share[:, axis] > top
        acc = np.where(over, top / np.where(over, share[:, axis], 1.0), acc)
    return acc
