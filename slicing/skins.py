"""Top and bottom solid skins, found by comparing each layer with its neighbours.

A point of layer i needs solid infill when the part does not continue there for the next
`top_layers` layers (a top skin) or did not for the previous `bottom_layers` (a bottom skin).
Slivers of sparse infill too narrow to hold a pattern become solid too. Everything is a
Clipper boolean on whole layers (manifold3d's CrossSection), no per-point Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import manifold3d

_ADD = manifold3d.OpType.Add
_INTERSECT = manifold3d.OpType.Intersect


@dataclass
class LayerRegions:
    """The inner area of one layer split by how it is filled."""

    top: manifold3d.CrossSection  # exposed to the air above: printed as the top surface
    solid: manifold3d.CrossSection  # other solid skin (bottom, internal)
    sparse: manifold3d.CrossSection


def _covered(sections: list[manifold3d.CrossSection], start: int, stop: int) -> (
    manifold3d.CrossSection
):
    """Area present on every layer in [start, stop); empty when a layer is missing."""
    if start < 0 or stop > len(sections) or start >= stop:
        return manifold3d.CrossSection()
    chosen = sections[start:stop]
    if len(chosen) == 1:
        return chosen[0]
    return manifold3d.CrossSection.batch_boolean(chosen, _INTERSECT)


def split_regions(
    sections: list[manifold3d.CrossSection],
    inners: list[manifold3d.CrossSection],
    top_layers: int,
    bottom_layers: int,
    width_mm: float,
) -> list[LayerRegions]:
    """Top, solid and sparse regions of every layer of one part."""
    result = []
    count = len(sections)
    for i in range(count):
        inner = inners[i]
        if inner.is_empty():
            empty = manifold3d.CrossSection()
            result.append(LayerRegions(empty, empty, empty))
            continue
        above = sections[i + 1] if i + 1 < count else manifold3d.CrossSection()
        top = inner - above if top_layers > 0 else manifold3d.CrossSection()
        top = _without_slivers(top, width_mm)
        solid = manifold3d.CrossSection()
        if top_layers > 1:
            solid = inner - _covered(sections, i + 1, i + 1 + top_layers)
        if bottom_layers > 0:
            solid = solid + (inner - _covered(sections, i - bottom_layers, i))
        solid = _without_slivers(solid, width_mm)
        # Grow skins a little into the sparse area so they anchor on the infill below.
        solid = (solid.offset(width_mm, manifold3d.JoinType.Miter, 2.0) ^ inner) - top
        sparse = inner - top - solid
        # Sparse strips narrower than about two lines cannot hold a pattern: fill them.
        opened = sparse.offset(-width_mm, manifold3d.JoinType.Miter, 2.0).offset(
            width_mm, manifold3d.JoinType.Miter, 2.0
        )
        leftovers = sparse - opened
        if not leftovers.is_empty():
            solid = solid + leftovers
            sparse = opened ^ inner
        result.append(LayerRegions(top=top, solid=solid, sparse=sparse))
    return result


def _without_slivers(region: manifold3d.CrossSection, width_mm: float) -> (
    manifold3d.CrossSection
):
    """Drop pieces thinner than a fraction of a line (offset noise along sloped walls)."""
    if region.is_empty():
        return region
    eps = width_mm * 0.2
    return region.offset(-eps, manifold3d.JoinType.Miter, 2.0).offset(
        eps, manifold3d.JoinType.Miter, 2.0
    )
