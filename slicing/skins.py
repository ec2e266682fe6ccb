"""Solid skins: top and bottom surfaces, bridges and vertical shells, found across layers.

A point of layer i needs solid infill when the part does not continue there for the next
`top_layers` layers (a top skin) or did not for the previous `bottom_layers` (a bottom skin).
Like PrusaSlicer, infill also turns solid where the walls of nearby layers pass over it (so a
sloped wall keeps its thickness: "ensure vertical shell thickness"), and sparse islands too
small or too narrow to hold a pattern are filled solid. Bottom skin with nothing under it is
a bridge, printed with round, thicker threads. Everything is a Clipper boolean on whole
layers (manifold3d's CrossSection), no per-point Python.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import manifold3d

_MITER = manifold3d.JoinType.Miter
_INTERSECT = manifold3d.OpType.Intersect
_ADD = manifold3d.OpType.Add


@dataclass
class LayerRegions:
    """The inner area of one layer split by how it is filled."""

    top: manifold3d.CrossSection  # exposed to the air above: printed as the top surface
    solid: manifold3d.CrossSection  # other solid skin (bottom, internal)
    sparse: manifold3d.CrossSection
    bridge: manifold3d.CrossSection  # solid skin over nothing


@dataclass(frozen=True)
class SkinRules:
    top_layers: int
    bottom_layers: int
    width_mm: float
    solid_below_area_mm2: float = 70.0
    vertical_shells: bool = True
    bridges: bool = True
    expand_mm: float = 3.0


def _empty() -> manifold3d.CrossSection:
    return manifold3d.CrossSection()


def _covered(
    sections: list[manifold3d.CrossSection], start: int, stop: int
) -> manifold3d.CrossSection:
    """Area present on every layer in [start, stop); empty when a layer is missing."""
    if start < 0 or stop > len(sections) or start >= stop:
        return _empty()
    chosen = sections[start:stop]
    if len(chosen) == 1:
        return chosen[0]
    return manifold3d.CrossSection.batch_boolean(chosen, _INTERSECT)


def split_regions(
    sections: list[manifold3d.CrossSection],
    inners: list[manifold3d.CrossSection],
    rules: SkinRules,
) -> list[LayerRegions]:
    """Top, solid, bridge and sparse regions of every layer of one part."""
    tops = [_top(sections, inners, i, rules) for i in range(len(sections))]
    bottoms = [_bottom(sections, inners, i, rules) for i in range(len(sections))]
    skins = [
        (_inner_solid(sections, inners, i, rules) + bottoms[i])
        if not inners[i].is_empty()
        else _empty()
        for i in range(len(sections))
    ]
    regions = [
        _layer(sections, inners, skins, tops[i], bottoms[i], i, rules) for i in range(len(sections))
    ]
    if rules.bridges:
        for below, layer in itertools.pairwise(regions):
            _bridge_over_infill(layer, below, rules.width_mm)
    return regions


def _bridge_over_infill(layer: LayerRegions, below: LayerRegions, width: float) -> None:
    """Solid skin laid on sparse infill bridges the gaps between the infill lines."""
    if below.sparse.is_empty():
        return
    for name in ("solid", "top"):
        region = getattr(layer, name)
        if region.is_empty():
            continue
        over = _without_slivers(region ^ below.sparse, width * 2)
        if over.is_empty() or over.area() < 4 * width * width:
            continue
        layer.bridge = layer.bridge + over
        setattr(layer, name, region - over)


def _top(
    sections: list[manifold3d.CrossSection],
    inners: list[manifold3d.CrossSection],
    i: int,
    rules: SkinRules,
) -> manifold3d.CrossSection:
    """Inner area with nothing right above it."""
    if rules.top_layers <= 0 or inners[i].is_empty():
        return _empty()
    above = sections[i + 1] if i + 1 < len(sections) else _empty()
    return _without_slivers(inners[i] - above, rules.width_mm)


def _inner_solid(
    sections: list[manifold3d.CrossSection],
    inners: list[manifold3d.CrossSection],
    i: int,
    rules: SkinRules,
) -> manifold3d.CrossSection:
    """Inner area within `top_layers` under a surface (the top itself included)."""
    if rules.top_layers <= 0:
        return _empty()
    return inners[i] - _covered(sections, i + 1, i + 1 + rules.top_layers)


def _bottom(
    sections: list[manifold3d.CrossSection],
    inners: list[manifold3d.CrossSection],
    i: int,
    rules: SkinRules,
) -> manifold3d.CrossSection:
    """Inner area within `bottom_layers` over a surface."""
    if rules.bottom_layers <= 0 or inners[i].is_empty():
        return _empty()
    return inners[i] - _covered(sections, i - rules.bottom_layers, i)


def _layer(
    sections: list[manifold3d.CrossSection],
    inners: list[manifold3d.CrossSection],
    skins: list[manifold3d.CrossSection],
    top: manifold3d.CrossSection,
    bottom: manifold3d.CrossSection,
    i: int,
    rules: SkinRules,
) -> LayerRegions:
    inner = inners[i]
    width = rules.width_mm
    if inner.is_empty():
        return LayerRegions(_empty(), _empty(), _empty(), _empty())
    solid = skins[i]
    # On a sloped wall the skin of each layer is a sliver along the wall. Keeping the
    # slivers (grown below into printable bands) keeps the shell as thick as the skins
    # (PrusaSlicer's "ensure vertical shell thickness"); without it only wide skins count.
    solid = _without_slivers(solid, width * (0.05 if rules.vertical_shells else 1.0))
    # Grow skins into the sparse area so they anchor on the infill around them.
    solid = (solid.offset(max(rules.expand_mm, width), _MITER, 2.0) ^ inner) - top
    sparse = inner - top - solid
    solid = solid + _too_small_for_a_pattern(sparse, width, rules.solid_below_area_mm2)
    sparse = sparse - solid
    bridge = _empty()
    if rules.bridges and i > 0 and not bottom.is_empty():
        bridge = _bridge(solid, sections[i - 1], width)
        solid = solid - bridge
    return LayerRegions(top=top, solid=solid, sparse=sparse, bridge=bridge)


def _too_small_for_a_pattern(
    sparse: manifold3d.CrossSection, width: float, min_area: float
) -> manifold3d.CrossSection:
    """Sparse strips narrower than two lines, and islands under `min_area`."""
    if sparse.is_empty():
        return sparse
    opened = sparse.offset(-width, _MITER, 2.0).offset(width, _MITER, 2.0)
    small = sparse - opened
    if min_area > 0 and not opened.is_empty():
        pieces = opened.decompose()
        tiny = [piece for piece in pieces if piece.area() < min_area]
        if tiny:
            small = small + manifold3d.CrossSection.compose(tiny)
    return small


def _bridge(
    solid: manifold3d.CrossSection, below: manifold3d.CrossSection, width: float
) -> manifold3d.CrossSection:
    """Solid skin over nothing, reaching a little onto what carries it."""
    hanging = _without_slivers(solid - below.offset(-width / 2, _MITER, 2.0), width * 2)
    if hanging.is_empty() or hanging.area() < 4 * width * width:
        return _empty()
    return hanging.offset(2 * width, _MITER, 2.0) ^ solid


def _without_slivers(region: manifold3d.CrossSection, width_mm: float) -> manifold3d.CrossSection:
    """Drop pieces thinner than a fraction of a line (offset noise along sloped walls)."""
    if region.is_empty():
        return region
    eps = width_mm * 0.2
    return region.offset(-eps, _MITER, 2.0).offset(eps, _MITER, 2.0)
