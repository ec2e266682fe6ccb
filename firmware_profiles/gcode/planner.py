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

from firmware_profiles.gcode.motion_limits import MotionLimits

# A move as the interpreter records it: machine x, y, z (mm), cumulative filament e (mm,
# flow applied) and the requested feedrate (mm/s, speed factor applied).
Record = tuple[float, float, float, float, float]

WINDOW = 2048  # plan when more blocks than this wait
KEEP = 64  # blocks left unplanned for the next window: the firmware's lookahead depth
_JUNCTION_SPEED_THRESHOLD = 0.0001  # mm/s: a slower previous block counts as standing still


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
        # Blocks waiting to be planned, as parallel lists (cheaper than objects).
        self._distance: list[float] = []
        self._cruise: list[float] = []
        self._acceleration: list[float] = []
        self._max_entry: list[float] = []
        self._safe: list[float] = []

    def add(self, records: list[Record]) -> None:
        """Turn moves into blocks; plan whenever a full window waits."""
        if records:
            self._build_blocks(records)
        while len(self._distance) > WINDOW:
            self._plan(KEEP)

    def stop(self) -> None:
        """The machine comes to a standstill: plan and time every waiting block."""
        self._plan(0)
        self._prev = None

    def _build_blocks(self, records: list[Record]) -> None:
        limits = self.limits
        fx, fy, fz, fe = limits.max_feedrate
        ax_max, ay_max, az_max, ae_max = limits.max_acceleration
        jx, jy, jz, je = limits.jerk
        acc_extrude = limits.extruding_acceleration
        acc_travel = limits.travel_acceleration
        acc_retract = limits.retracting_acceleration
        min_extrude, min_travel = limits.min_extruding_feedrate, limits.min_travel_feedrate
        totals = self.totals
        distance_add, cruise_add = self._distance.append, self._cruise.append
        acc_add, entry_add, safe_add = (
            self._acceleration.append,
            self._max_entry.append,
            self._safe.append,
        )
        px, py, pz, pe = self.position
        prev = self._prev
        for x, y, z, e, feed in records:
            dx = x - px
            dy = y - py
            dz = z - pz
            de = e - pe
            if dx == 0.0 and dy == 0.0 and dz == 0.0:
                if de == 0.0:
                    continue
                dist = abs(de)
                acc = acc_retract
                extruding = False
            else:
                dist = sqrt(dx * dx + dy * dy + dz * dz)
                extruding = de > 0.0 and (dx != 0.0 or dy != 0.0)
                acc = acc_extrude if extruding else acc_travel
                if extruding:
                    totals.extrude_mm += dist
                    if feed > totals.max_extrude_feedrate_mm_s:
                        totals.max_extrude_feedrate_mm_s = feed
                    _grow_box(totals, px, py, pz, x, y, z)
                else:
                    totals.travel_mm += dist
                    if feed > totals.max_travel_feedrate_mm_s:
                        totals.max_travel_feedrate_mm_s = feed
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
            # Cap the feedrate so no axis exceeds its maximum (M203).
            factor = 1.0
            for speed, top in ((vx, fx), (vy, fy), (vz, fz), (ve, fe)):
                if speed != 0.0 and top != 0.0:
                    speed = abs(speed)
                    if speed * factor > top:
                        factor = top / speed
            cruise = feed * factor
            if factor < 1.0:
                vx *= factor
                vy *= factor
                vz *= factor
                ve *= factor
            # Cap the acceleration so no axis exceeds its maximum (M201).
            for delta, top in ((dx, ax_max), (dy, ay_max), (dz, az_max), (de, ae_max)):
                share = abs(delta) / dist
                if acc * share > top:
                    acc = top / share
            # The speed the block may start from or stop at instantly.
            safe = cruise
            if abs(vx) > jx and jx < safe:
                safe = jx
            if abs(vy) > jy and jy < safe:
                safe = jy
            if abs(vz) > jz and jz < safe:
                safe = jz
            if abs(ve) > je and je < safe:
                safe = je
            max_entry = safe
            if prev is not None and prev[0] > _JUNCTION_SPEED_THRESHOLD:
                max_entry = _junction_speed(prev, feed, cruise, vx, vy, vz, ve, safe, limits)
            distance_add(dist)
            cruise_add(cruise)
            acc_add(acc)
            entry_add(max_entry)
            safe_add(safe)
            prev = (feed, vx, vy, vz, ve, safe)
            px, py, pz, pe = x, y, z, e
        self.position = (px, py, pz, pe)
        self._prev = prev

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
        w = [entry * entry for entry in self._max_entry]
        w.append(safe[-1] * safe[-1])
        for i in range(count - 1, -1, -1):
            reachable = w[i + 1] + doubled[i]
            if reachable < w[i]:
                w[i] = reachable
        for i in range(count):
            reachable = w[i] + doubled[i]
            if reachable < w[i + 1]:
                w[i + 1] = reachable
        done = count - keep
        seconds = 0.0
        for i in range(done):
            seconds += block_seconds(distance[i], cruise[i], acceleration[i], w[i], w[i + 1])
        self.totals.seconds += seconds
        self.totals.blocks += done
        for lst in (distance, cruise, acceleration, self._max_entry, safe):
            del lst[:done]
        if keep:
            # The kept first block starts at the speed the timed block before it ended with.
            self._max_entry[0] = sqrt(w[done])


def block_seconds(distance: float, cruise: float, acc: float, entry2: float, exit2: float) -> float:
    """Seconds of one trapezoid block; `entry2` and `exit2` are squared speeds."""
    cruise2 = cruise * cruise
    accelerate = (cruise2 - entry2) / (2.0 * acc)
    if accelerate < 0.0:
        accelerate = 0.0
    decelerate = (cruise2 - exit2) / (2.0 * acc)
    if decelerate < 0.0:
        decelerate = 0.0
    plateau = distance - accelerate - decelerate
    if plateau < 0.0:
        # Too short to reach the cruise speed: accelerate, then brake at once.
        accelerate = (2.0 * acc * distance - entry2 + exit2) / (4.0 * acc)
        if accelerate < 0.0:
            accelerate = 0.0
        elif accelerate > distance:
            accelerate = distance
        plateau = 0.0
        peak = sqrt(entry2 + 2.0 * acc * accelerate)
    else:
        peak = cruise
    decelerate = distance - accelerate - plateau
    end2 = peak * peak - 2.0 * acc * decelerate
    return (
        (peak - sqrt(entry2)) / acc
        + plateau / peak
        + (peak - sqrt(end2 if end2 > 0.0 else 0.0)) / acc
    )


def _junction_speed(
    prev: tuple[float, float, float, float, float, float],
    feed: float,
    cruise: float,
    vx: float,
    vy: float,
    vz: float,
    ve: float,
    safe: float,
    limits: MotionLimits,
) -> float:
    """Top speed through the corner with the previous block (classic Marlin jerk)."""
    prev_feed, pvx, pvy, pvz, pve, prev_safe = prev
    if prev_feed > cruise:
        scale = cruise / prev_feed
        junction = cruise
    else:
        scale = 1.0
        junction = prev_feed
    factor = 1.0
    limited = False
    for exit_speed, entry_speed, jerk in (
        (pvx * scale, vx, limits.jerk[0]),
        (pvy * scale, vy, limits.jerk[1]),
        (pvz * scale, vz, limits.jerk[2]),
        (pve * scale, ve, limits.jerk[3]),
    ):
        if limited:
            exit_speed *= factor
            entry_speed *= factor
        if exit_speed > entry_speed:
            if entry_speed > 0.0 or exit_speed < 0.0:
                change = exit_speed - entry_speed  # coasting the same way
            else:
                change = max(exit_speed, -entry_speed)  # reversing
        elif entry_speed < 0.0 or exit_speed > 0.0:
            change = entry_speed - exit_speed
        else:
            change = max(-exit_speed, entry_speed)
        if change > jerk:
            factor *= jerk / change
            limited = True
    if limited:
        junction *= factor
    # Both blocks could start/stop at this speed anyway: take the current block's safe speed.
    threshold = junction * 0.99
    if prev_safe > threshold and safe > threshold:
        junction = safe
    return junction


def _grow_box(
    totals: MotionTotals, x0: float, y0: float, z0: float, x1: float, y1: float, z1: float
) -> None:
    for value in (x0, x1):
        if value < totals.min_x:
            totals.min_x = value
        if value > totals.max_x:
            totals.max_x = value
    for value in (y0, y1):
        if value < totals.min_y:
            totals.min_y = value
        if value > totals.max_y:
            totals.max_y = value
    for value in (z0, z1):
        if value < totals.min_z:
            totals.min_z = value
        if value > totals.max_z:
            totals.max_z = value
