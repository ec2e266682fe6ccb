"""How long the moves take: Marlin's planner, replayed in pure Python.

Each move becomes a block, as in Marlin and PrusaSlicer's estimator: a cruise speed
(the feedrate, capped per axis by M203), an acceleration (M204 P for extrusion, T for
travel, R for extrude-only moves, capped per axis by M201), a speed it may stop from at
once (its "safe" speed, from the per-axis jerk), and a top junction speed with the block
before it (classic Marlin jerk). Lookahead plans the blocks in windows: when more than
`WINDOW` blocks wait, a backward pass (every block must be able to slow down for the ones
after it) and a forward pass (every block must be reachable from the one before) settle
the junction speeds; every block but the last `KEEP` is then timed as a trapezoid
(accelerate, cruise, decelerate) and dropped. A stop (G4, M400, heating) plans and times
everything. Work per move is O(1).

The numbers match PrusaSlicer's `GCodeProcessor` estimate (see the README for the
measured difference) so the farm's times agree with what staff see in the slicer.

`planner_numpy.py` computes exactly the same with whole-array numpy; this module is the
one a Raspberry Pi agent uses, where numpy is absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import inf, sqrt
from typing import Protocol

from firmware_profiles.gcode.motion_limits import MotionLimits

# A move as the interpreter records it: machine x, y, z (mm), cumulative filament e (mm,
# flow applied) and the requested feedrate (mm/s, speed factor applied). The interpreter
# hands them over as one flat list of floats, five per move (cheaper than tuples).
Record = tuple[float, float, float, float, float]
RECORD_FIELDS = 5

WINDOW = 2048  # plan when more blocks than this wait
KEEP = 64  # blocks left unplanned for the next window: the firmware's lookahead depth
_JUNCTION_SPEED_THRESHOLD = 0.0001  # mm/s: a slower previous block counts as standing still


class Planner(Protocol):
    """What the interpreter needs of a planner (this one or the numpy one)."""

    limits: MotionLimits
    totals: MotionTotals

    def add(self, records: list[float]) -> None: ...

    def build(self, records: list[float]) -> None: ...

    def stop(self) -> None: ...


@dataclass(slots=True)
class MotionTotals:
    """What the moves add up to."""

    seconds: float = 0.0
    travel_mm: float = 0.0
    extrude_mm: float = 0.0
    blocks: int = 0
    max_extrude_feedrate_mm_s: float = 0.0
    max_travel_feedrate_mm_s: float = 0.0
    # Bounding box of the extruding moves: min x, min y, min z, max x, max y, max z.
    min_x: float = inf
    min_y: float = inf
    min_z: float = inf
    max_x: float = -inf
    max_y: float = -inf
    max_z: float = -inf


class MotionPlanner:
    """Turns recorded moves into blocks and blocks into seconds."""

    def __init__(self, limits: MotionLimits) -> None:
        self.limits = limits
        self.totals = MotionTotals()
        # The last recorded position (moves are recorded as end points).
        self.position: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
        # The previous block, for the junction: requested feedrate, axis speeds, safe speed.
        self._prev: tuple[float, float, float, float, float, float] | None = None
        self._extruded = False  # the last move extruded (its end is in the box already)
        # Blocks waiting to be planned, as parallel lists (cheaper than objects).
        self._distance: list[float] = []
        self._cruise: list[float] = []
        self._acceleration: list[float] = []
        self._max_entry: list[float] = []
        self._safe: list[float] = []

    def add(self, records: list[float]) -> None:
        """Turn moves into blocks (`records`: the `Record` fields of every move, one after
        the other); plan whenever a full window waits."""
        if records:
            self._build_blocks(records)
        while len(self._distance) > WINDOW:
            self._plan(KEEP)

    def build(self, records: list[float]) -> None:
        """Turn moves into blocks without planning: the next `add` or `stop` plans them
        with its own, as if they had come with it."""
        if records:
            self._build_blocks(records)

    def stop(self) -> None:
        """The machine comes to a standstill: plan and time every waiting block."""
        self._plan(0)
        self._prev = None

    def _build_blocks(self, records: list[float]) -> None:
        """One block per move. One long loop with the junction inlined: it runs once per
        move on a Raspberry Pi, where every call and attribute lookup counts."""
        limits = self.limits
        fx, fy, fz, fe = limits.max_feedrate
        ax_max, ay_max, az_max, ae_max = limits.max_acceleration
        jx, jy, jz, je = limits.jerk
        acc_extrude = limits.extruding_acceleration
        acc_travel = limits.travel_acceleration
        acc_retract = limits.retracting_acceleration
        min_extrude, min_travel = limits.min_extruding_feedrate, limits.min_travel_feedrate
        t = self.totals
        extrude_mm, travel_mm = t.extrude_mm, t.travel_mm
        top_extrude, top_travel = t.max_extrude_feedrate_mm_s, t.max_travel_feedrate_mm_s
        lo_x, lo_y, lo_z, hi_x, hi_y, hi_z = t.min_x, t.min_y, t.min_z, t.max_x, t.max_y, t.max_z
        distance_add, cruise_add = self._distance.append, self._cruise.append
        acc_add, entry_add = self._acceleration.append, self._max_entry.append
        safe_add = self._safe.append
        px, py, pz, pe = self.position
        has_prev = self._prev is not None
        prev_feed, pvx, pvy, pvz, pve, prev_safe = self._prev or (0.0,) * 6
        extruded = self._extruded
        flat = iter(records)
        for x, y, z, e, feed in zip(flat, flat, flat, flat, flat, strict=False):
            dx = x - px
            dy = y - py
            dz = z - pz
            de = e - pe
            if dx == 0.0 and dy == 0.0 and dz == 0.0:
                if de == 0.0:
                    continue
                dist = de if de > 0.0 else -de
                acc = acc_retract
                extruded = False
            else:
                dist = sqrt(dx * dx + dy * dy + dz * dz)
                if de > 0.0 and (dx != 0.0 or dy != 0.0):
                    acc = acc_extrude
                    extrude_mm += dist
                    if feed > top_extrude:
                        top_extrude = feed
                    if not extruded:  # else the start is the last move's end, in the box
                        extruded = True
                        if px < lo_x:
                            lo_x = px
                        if px > hi_x:
                            hi_x = px
                        if py < lo_y:
                            lo_y = py
                        if py > hi_y:
                            hi_y = py
                        if pz < lo_z:
                            lo_z = pz
                        if pz > hi_z:
                            hi_z = pz
                    if x < lo_x:
                        lo_x = x
                    if x > hi_x:
                        hi_x = x
                    if y < lo_y:
                        lo_y = y
                    if y > hi_y:
                        hi_y = y
                    if z < lo_z:
                        lo_z = z
                    if z > hi_z:
                        hi_z = z
                else:
                    extruded = False
                    acc = acc_travel
                    travel_mm += dist
                    if feed > top_travel:
                        top_travel = feed
            if de == 0.0:
                if feed < min_travel:
                    feed = min_travel
            elif feed < min_extrude:
                feed = min_extrude
            per_mm = feed / dist
            vx = dx * per_mm
            vy = dy * per_mm
            vz = dz * per_mm
            ve = de * per_mm
            avx = vx if vx >= 0.0 else -vx
            avy = vy if vy >= 0.0 else -vy
            avz = vz if vz >= 0.0 else -vz
            ave = ve if ve >= 0.0 else -ve
            # Cap the feedrate so no axis exceeds its maximum (M203).
            factor = 1.0
            if avx > fx:
                factor = fx / avx
            if avy * factor > fy:
                factor = fy / avy
            if avz * factor > fz:
                factor = fz / avz
            if ave * factor > fe:
                factor = fe / ave
            cruise = feed * factor
            if factor < 1.0:
                vx *= factor
                vy *= factor
                vz *= factor
                ve *= factor
                avx *= factor
                avy *= factor
                avz *= factor
                ave *= factor
            # Cap the acceleration so no axis exceeds its maximum (M201).
            share = (dx if dx >= 0.0 else -dx) / dist
            if acc * share > ax_max:
                acc = ax_max / share
            share = (dy if dy >= 0.0 else -dy) / dist
            if acc * share > ay_max:
                acc = ay_max / share
            share = (dz if dz >= 0.0 else -dz) / dist
            if acc * share > az_max:
                acc = az_max / share
            share = (de if de >= 0.0 else -de) / dist
            if acc * share > ae_max:
                acc = ae_max / share
            # The speed the block may start from or stop at instantly.
            safe = cruise
            if avx > jx and jx < safe:
                safe = jx
            if avy > jy and jy < safe:
                safe = jy
            if avz > jz and jz < safe:
                safe = jz
            if ave > je and je < safe:
                safe = je
            if has_prev and prev_feed > _JUNCTION_SPEED_THRESHOLD:
                # Top speed through the corner with the previous block (classic Marlin jerk).
                if prev_feed > cruise:
                    scale = cruise / prev_feed
                    junction = cruise
                else:
                    scale = 1.0
                    junction = prev_feed
                # Per axis: the speed change (the larger speed when the axis reverses).
                slow = 1.0
                exit_v, entry_v = pvx * scale, vx
                if exit_v > entry_v:
                    if entry_v > 0.0 or exit_v < 0.0:
                        change = exit_v - entry_v
                    else:
                        change = exit_v if exit_v > -entry_v else -entry_v
                elif entry_v < 0.0 or exit_v > 0.0:
                    change = entry_v - exit_v
                else:
                    change = -exit_v if -exit_v > entry_v else entry_v
                if change > jx:
                    slow = jx / change
                exit_v, entry_v = pvy * scale * slow, vy * slow
                if exit_v > entry_v:
                    if entry_v > 0.0 or exit_v < 0.0:
                        change = exit_v - entry_v
                    else:
                        change = exit_v if exit_v > -entry_v else -entry_v
                elif entry_v < 0.0 or exit_v > 0.0:
                    change = entry_v - exit_v
                else:
                    change = -exit_v if -exit_v > entry_v else entry_v
                if change > jy:
                    slow *= jy / change
                exit_v, entry_v = pvz * scale * slow, vz * slow
                if exit_v > entry_v:
                    if entry_v > 0.0 or exit_v < 0.0:
                        change = exit_v - entry_v
                    else:
                        change = exit_v if exit_v > -entry_v else -entry_v
                elif entry_v < 0.0 or exit_v > 0.0:
                    change = entry_v - exit_v
                else:
                    change = -exit_v if -exit_v > entry_v else entry_v
                if change > jz:
                    slow *= jz / change
                exit_v, entry_v = pve * scale * slow, ve * slow
                if exit_v > entry_v:
                    if entry_v > 0.0 or exit_v < 0.0:
                        change = exit_v - entry_v
                    else:
                        change = exit_v if exit_v > -entry_v else -entry_v
                elif entry_v < 0.0 or exit_v > 0.0:
                    change = entry_v - exit_v
                else:
                    change = -exit_v if -exit_v > entry_v else entry_v
                if change > je:
                    slow *= je / change
                junction *= slow
                # Both blocks could start/stop at this speed anyway: take the safe speed.
                threshold = junction * 0.99
                if prev_safe > threshold and safe > threshold:
                    junction = safe
            else:
                junction = safe
            distance_add(dist)
            cruise_add(cruise)
            acc_add(acc)
            entry_add(junction)
            safe_add(safe)
            has_prev = True
            prev_feed, pvx, pvy, pvz, pve, prev_safe = feed, vx, vy, vz, ve, safe
            px, py, pz, pe = x, y, z, e
        self.position = (px, py, pz, pe)
        self._extruded = extruded
        if has_prev:
            self._prev = (prev_feed, pvx, pvy, pvz, pve, prev_safe)
        t.extrude_mm, t.travel_mm = extrude_mm, travel_mm
        t.max_extrude_feedrate_mm_s, t.max_travel_feedrate_mm_s = top_extrude, top_travel
        t.min_x, t.min_y, t.min_z, t.max_x, t.max_y, t.max_z = lo_x, lo_y, lo_z, hi_x, hi_y, hi_z

    def _plan(self, keep: int) -> None:
        """Backward and forward passes over the waiting blocks; time all but `keep`."""
        count = len(self._distance)
        if count == 0:
            return
        keep = min(keep, count)
        distance, cruise = self._distance, self._cruise
        acceleration, safe = self._acceleration, self._safe
        doubled = [2.0 * a * d for a, d in zip(acceleration, distance, strict=True)]
        # Squared junction speeds: w[i] is the entry of block i, w[count] the final exit.
        # Backward: each block can slow down to the next one's entry.
        reachable = safe[-1] * safe[-1]
        backward = [reachable]
        for entry, room in zip(reversed(self._max_entry), reversed(doubled), strict=True):
            reachable += room
            limit = entry * entry
            if limit < reachable:
                reachable = limit
            backward.append(reachable)
        backward.reverse()
        # Forward: each block's entry can be reached from the one before.
        reachable = backward[0]
        w = [reachable]
        for planned, room in zip(backward[1:], doubled, strict=True):
            reachable += room
            if planned < reachable:
                reachable = planned
            w.append(reachable)
        done = count - keep
        self.totals.seconds += seconds_of_blocks(distance, cruise, acceleration, w, done)
        self.totals.blocks += done
        for lst in (distance, cruise, acceleration, self._max_entry, safe):
            del lst[:done]
        if keep:
            # The kept first block starts at the speed the timed block before it ended with.
            self._max_entry[0] = sqrt(w[done])


def block_seconds(distance: float, cruise: float, acc: float, entry2: float, exit2: float) -> float:
    """Seconds of one trapezoid block; `entry2` and `exit2` are squared speeds."""
    return seconds_of_blocks([distance], [cruise], [acc], [entry2, exit2], 1)


def seconds_of_blocks(
    distance: list[float],
    cruise: list[float],
    acceleration: list[float],
    w: list[float],
    count: int,
) -> float:
    """Seconds of the first `count` trapezoid blocks; block i enters at sqrt(w[i]) and
    leaves at sqrt(w[i + 1]): accelerate, cruise, decelerate, or when too short to reach
    its cruise speed, accelerate and brake at once."""
    total = 0.0
    entry2 = w[0]
    for i in range(count):
        length, top, acc, exit2 = distance[i], cruise[i], acceleration[i], w[i + 1]
        cruise2 = top * top
        accelerate = (cruise2 - entry2) / (2.0 * acc)
        if accelerate < 0.0:
            accelerate = 0.0
        decelerate = (cruise2 - exit2) / (2.0 * acc)
        if decelerate < 0.0:
            decelerate = 0.0
        plateau = length - accelerate - decelerate
        if plateau < 0.0:
            accelerate = (2.0 * acc * length - entry2 + exit2) / (4.0 * acc)
            if accelerate < 0.0:
                accelerate = 0.0
            elif accelerate > length:
                accelerate = length
            plateau = 0.0
            peak = sqrt(entry2 + 2.0 * acc * accelerate)
        else:
            peak = top
        end2 = peak * peak - 2.0 * acc * (length - accelerate - plateau)
        total += (
            (peak - sqrt(entry2)) / acc
            + plateau / peak
            + (peak - sqrt(end2 if end2 > 0.0 else 0.0)) / acc
        )
        entry2 = exit2
    return total
