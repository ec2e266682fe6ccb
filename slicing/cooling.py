"""Cooling by layer time: slow small layers down to a minimum time, turn the fan up for them.

A layer that would print faster than `slowdown_below_layer_s` is slowed (never below
`min_print_speed`) so the plastic below has time to cool; the fan runs at the material's
minimum for long layers and rises linearly to its maximum as layers get shorter than
`fan_below_layer_s`. The first `fan_off_layers` print with the fan off for bed adhesion.
"""

from __future__ import annotations

import numpy as np

from firmware_profiles.model import Material
from slicing.settings import SliceSettings
from slicing.toolpaths import LayerPlan


def layer_seconds(
    plan: LayerPlan, travel_speed: float, factor: float = 1.0, min_speed: float = 0.0
) -> float:
    """Rough print time of a layer: extrusion at feature speed plus straight travel."""
    paths = plan.before_objects + [p for obj in plan.objects for p in obj.paths]
    if not paths:
        return 0.0
    polylines = [np.vstack([p.points, p.points[:1]]) if p.closed else p.points for p in paths]
    counts = np.array([len(points) for points in polylines])
    points = np.concatenate(polylines)
    steps = np.hypot(*np.diff(points, axis=0).T)
    speeds = np.array([max(p.speed_mm_s * factor, min(p.speed_mm_s, min_speed)) for p in paths])
    per_step = np.repeat(speeds, counts)[1:]
    firsts = (np.cumsum(counts) - counts)[1:] - 1  # steps onto a path's start are travel
    per_step[firsts] = travel_speed
    return float((steps / per_step).sum())


def apply_cooling(plans: list[LayerPlan], settings: SliceSettings, material: Material) -> None:
    """Set each layer's speed factor, fan percent and estimated seconds."""
    travel = settings.travel_speed
    for plan in plans:
        seconds = layer_seconds(plan, travel)
        factor = 1.0
        slowdown = settings.slowdown_below_layer_s
        if 0 < seconds < slowdown:
            factor = seconds / slowdown
            seconds = layer_seconds(plan, travel, factor, settings.min_print_speed)
        plan.speed_factor = factor
        plan.estimated_seconds = seconds
        plan.fan_percent = _fan(plan.index, seconds, settings, material)


def _fan(index: int, seconds: float, settings: SliceSettings, material: Material) -> int:
    if index < settings.fan_off_layers:
        return 0
    low, high = material.fan_min_percent, material.fan_max_percent
    start, full = settings.fan_below_layer_s, settings.slowdown_below_layer_s
    if seconds >= start or start <= full:
        return low
    if seconds <= full:
        return high
    share = (start - seconds) / (start - full)
    return round(low + (high - low) * share)
