"""The motion limits the time estimate plans with, and how G-code changes them.

They start as the profile's `limits` (or Marlin 2's stock values without a profile) and
change as the program runs M201/M203/M204/M205/M566 or Klipper's SET_VELOCITY_LIMIT,
exactly as the firmware would apply them. Whether a change is allowed is the safety
check's business (`limit-raised`); the estimate follows what the printer would do.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from firmware_profiles.model import AxisValues, Limits

AXES = ("x", "y", "z", "e")


@dataclass(frozen=True, slots=True)
class MotionLimits:
    max_feedrate: tuple[float, float, float, float]  # mm/s per axis x, y, z, e
    max_acceleration: tuple[float, float, float, float]  # mm/s² per axis
    jerk: tuple[float, float, float, float]  # mm/s, classic Marlin jerk per axis
    extruding_acceleration: float  # M204 P
    retracting_acceleration: float  # M204 R
    travel_acceleration: float  # M204 T
    # The profile's ceilings for M204 values (the firmware clamps to them, as PrusaSlicer does).
    extruding_ceiling: float
    retracting_ceiling: float
    travel_ceiling: float
    min_extruding_feedrate: float = 0.0  # M205 S
    min_travel_feedrate: float = 0.0  # M205 T

    @classmethod
    def from_profile(cls, limits: Limits, separate_travel: bool = True) -> MotionLimits:
        """The profile's limits; firmwares without a travel acceleration travel at P."""
        travel = (
            limits.max_acceleration_travel_mm_s2
            if separate_travel
            else limits.max_acceleration_extruding_mm_s2
        )
        return cls(
            max_feedrate=_axes(limits.max_feedrate_mm_s),
            max_acceleration=_axes(limits.max_acceleration_mm_s2),
            jerk=_axes(limits.max_jerk_mm_s),
            extruding_acceleration=limits.max_acceleration_extruding_mm_s2,
            retracting_acceleration=limits.max_acceleration_retracting_mm_s2,
            travel_acceleration=travel,
            extruding_ceiling=limits.max_acceleration_extruding_mm_s2,
            retracting_ceiling=limits.max_acceleration_retracting_mm_s2,
            travel_ceiling=travel,
        )

    @classmethod
    def marlin_defaults(cls) -> MotionLimits:
        """Marlin 2.1's stock Configuration.h values, for programs analysed without a profile."""
        return cls(
            max_feedrate=(300.0, 300.0, 5.0, 25.0),
            max_acceleration=(3000.0, 3000.0, 100.0, 10000.0),
            jerk=(10.0, 10.0, 0.3, 5.0),
            extruding_acceleration=3000.0,
            retracting_acceleration=3000.0,
            travel_acceleration=3000.0,
            extruding_ceiling=3000.0,
            retracting_ceiling=3000.0,
            travel_ceiling=3000.0,
        )

    def with_axes(
        self,
        field_name: Literal["max_feedrate", "max_acceleration", "jerk"],
        values: dict[str, float],
    ) -> MotionLimits:
        """A copy with some axes of `max_feedrate`, `max_acceleration` or `jerk` changed."""
        old: tuple[float, float, float, float] = getattr(self, field_name)
        new = (
            values.get("x", old[0]),
            values.get("y", old[1]),
            values.get("z", old[2]),
            values.get("e", old[3]),
        )
        if field_name == "max_feedrate":
            return replace(self, max_feedrate=new)
        if field_name == "max_acceleration":
            return replace(self, max_acceleration=new)
        return replace(self, jerk=new)

    def with_accelerations(
        self,
        extruding: float | None = None,
        retracting: float | None = None,
        travel: float | None = None,
    ) -> MotionLimits:
        """A copy with M204 values applied, each clamped to the profile's ceiling."""
        return replace(
            self,
            extruding_acceleration=_clamped(
                extruding, self.extruding_ceiling, self.extruding_acceleration
            ),
            retracting_acceleration=_clamped(
                retracting, self.retracting_ceiling, self.retracting_acceleration
            ),
            travel_acceleration=_clamped(travel, self.travel_ceiling, self.travel_acceleration),
        )


def _axes(values: AxisValues) -> tuple[float, float, float, float]:
    return (values.x, values.y, values.z, values.e)


def _clamped(value: float | None, ceiling: float, current: float) -> float:
    if value is None or value <= 0:
        return current
    return min(value, ceiling)
