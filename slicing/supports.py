"""Supports under overhangs steeper than a threshold, with a Z gap so they come off easily.

An overhang is the part of a layer that reaches further than `h * tan(angle)` beyond the
layer below. Support columns grow down from each overhang (stopping `z_gap` layers below
it) to the bed or to the part's own top surfaces, keep `xy_gap` away from the walls, and are
printed as sparse lines with a denser interface right under the part. One pass over the
layers, top to bottom, with Clipper booleans on whole layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import manifold3d

from slicing.settings import SliceSettings

_ROUND = manifold3d.JoinType.Round
_MITER = manifold3d.JoinType.Miter


@dataclass
class SupportLayer:
    body: manifold3d.CrossSection
    interface: manifold3d.CrossSection


def overhangs(
    sections: list[manifold3d.CrossSection], heights: list[float], settings: SliceSettings
) -> list[manifold3d.CrossSection]:
    """Per layer, the area that needs something under it."""
    tan = math.tan(math.radians(settings.support_overhang_deg))
    result = [manifold3d.CrossSection()]
    width = settings.line_width_mm
    for i in range(1, len(sections)):
        reach = sections[i - 1].offset(heights[i] * tan, _MITER, 2.0)
        hanging = sections[i] - reach
        if not hanging.is_empty():
            # Ignore slivers narrower than a line: they bridge from the walls.
            hanging = hanging.offset(-width / 2, _MITER, 2.0).offset(width / 2, _MITER, 2.0)
            pieces = [p for p in hanging.decompose() if p.area() >= settings.support_min_area_mm2]
            hanging = (
                manifold3d.CrossSection.compose(pieces) if pieces else (manifold3d.CrossSection())
            )
        result.append(hanging)
    return result


def support_layers(
    sections: list[manifold3d.CrossSection], heights: list[float], settings: SliceSettings
) -> list[SupportLayer]:
    """Support body and interface regions for every layer of one part."""
    count = len(sections)
    hanging = overhangs(sections, heights, settings)
    gap = settings.support_z_gap_layers
    xy_gap = settings.support_xy_gap_mm
    width = settings.line_width_mm
    carried = manifold3d.CrossSection()
    layers: list[SupportLayer] = [SupportLayer(carried, carried)] * count
    for i in range(count - 1, -1, -1):
        source = i + 1 + gap
        if source < count and not hanging[source].is_empty():
            carried = carried + hanging[source]
        if carried.is_empty():
            continue
        # The part itself and `gap` layers above and below are kept clear.
        keep_out = [sections[j] for j in range(max(0, i - gap), min(count, i + gap + 1))]
        blocked = manifold3d.CrossSection.compose(keep_out).offset(xy_gap, _ROUND)
        body = (carried - blocked).offset(width, _MITER, 2.0).offset(-width, _MITER, 2.0)
        reach = min(count, source + settings.support_interface_layers)
        near_top = [sections[j] for j in range(source, reach)]
        interface = manifold3d.CrossSection()
        if near_top and settings.support_interface_layers > 0:
            interface = body ^ manifold3d.CrossSection.compose(near_top)
        layers[i] = SupportLayer(body=body - interface, interface=interface)
        # Where the part is, it carries itself from here down.
        carried = carried - sections[i]
    return layers
