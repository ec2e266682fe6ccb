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


def _empty() -> manifold3d.CrossSection:
    return manifold3d.CrossSection()


def _covered(sections: list[manifold3d.CrossSection], start: int, stop: int) -> (
    manifold3d.CrossSection
):
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
    rings = [s - inner for s, inner in zip(sections, inners, strict=True)]
    return [_layer(sections, inners, rings, i, rules) for i in range(len(sections))]


def _layer(
    sections: list[manifold3d.CrossSection], inners: list[manifold3d.CrossSection],
    rings: list[manifold3d.CrossSection], i: int, rules: SkinRules,
) -> LayerRegions:
    inner = inners[i]
    width = rules.width_mm
    if inner.is_empty():
        return LayerRegions(_empty(), _empty(), _empty(), _empty())
    above = sections[i + 1] if i + 1 < len(sections) else _empty()
    top = _without_slivers(inner - above, width) if rules.top_layers > 0 else _empty()
    solid = _empty()
    if rules.top_layers > 1:
        solid = inner - _covered(sections, i + 1, i + 1 + rules.top_layers)
    bottom = _empty()
    if rules.bottom_layers > 0:
        bottom = inner - _covered(sections, i - rules.bottom_layers, i)
        solid = solid + bottom
    if rules.vertical_shells:
        solid = solid + (_shell(rings, i, rules) ^ inner)
    solid = _without_slivers(solid, width)
    # Grow skins a little into the sparse area so they anchor on the infill below.
    solid = (solid.offset(width, _MITER, 2.0) ^ inner) - top
    sparse = inner - top - solid
    solid = solid + _too_small_for_a_pattern(sparse, width, rules.solid_below_area_mm2)
    sparse = sparse - solid
    bridge = _empty()
    if rules.bridges and i > 0 and not bottom.is_empty():
        bridge = _bridge(solid, sections[i - 1], width)
        solid = solid - bridge
    return LayerRegions(top=top, solid=solid, sparse=sparse, bridge=bridge)


def _shell(rings: list[manifold3d.CrossSection], i: int, rules: SkinRules) -> (
    manifold3d.CrossSection
):
    """Walls of the nearby layers projected onto layer i."""
    low = max(0, i - rules.bottom_layers)
    high = min(len(rings), i + rules.top_layers + 1)
    nearby = [rings[k] for k in range(low, high) if k != i]
    if not nearby:
        return _empty()
    return manifold3d.CrossSection.batch_boolean(nearby, _ADD)


def _too_small_for_a_pattern(sparse: manifold3d.CrossSection, width: float,
                             min_area: float) -> manifold3d.CrossSection:
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


def _bridge(solid: manifold3d.CrossSection, below: manifold3d.CrossSection, width: float
            ) -> manifold3d.CrossSection:
    """Solid skin over nothing, reaching a little onto what carries it."""
    hanging = _without_slivers(solid - below.offset(-width / 2, _MITER, 2.0), width * 2)
    if hanging.is_empty() or hanging.area() < 4 * width * width:
        return _empty()
    return hanging.offset(2 * width, _MITER, 2.0) ^ solid


def _without_slivers(region: manifold3d.CrossSection, width_mm: float) -> (
    manifold3d.CrossSection
):
    """Drop pieces thinner than a fraction of a line (offset noise along sloped walls)."""
    if region.is_empty():
        return region
    eps = width_mm * 0.2
    return region.offset(-eps, _MITER, 2.0).offset(eps, _MITER, 2.0)
