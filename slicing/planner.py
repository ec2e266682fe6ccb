"""One part's layers turned into unordered print work: islands of walls and fills, supports.

For every layer of a part: cut it (layers.py), split it into islands, build walls per island
(perimeters.py), then find skins across layers (skins.py), fill them (infill.py), add
supports (supports.py) and the brim (skirt.py). The result still has no travel order:
ordering.py decides that for the whole plate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import manifold3d
import numpy as np

from slicing import infill
from slicing.layers import LayerTable, slice_mesh
from slicing.perimeters import make_walls
from slicing.settings import SliceSettings
from slicing.skins import LayerRegions, SkinRules, split_regions
from slicing.skirt import brim_loops
from slicing.supports import support_layers
from slicing.toolpaths import (
    BRIDGE,
    FILL,
    SKIN,
    SUPPORT,
    SUPPORT_INTERFACE,
    TOP_SKIN,
    spacing,
)


@dataclass
class Island:
    """One connected piece of a layer: its walls (outer first in the list) and fills."""

    walls: list[list[np.ndarray]]
    thin: list[np.ndarray]
    bbox: np.ndarray  # min_x, min_y, max_x, max_y
    fills: dict[str, list[np.ndarray]] = field(default_factory=dict)

    @property
    def centre(self) -> np.ndarray:
        return np.array([(self.bbox[0] + self.bbox[2]) / 2, (self.bbox[1] + self.bbox[3]) / 2])


@dataclass
class PartLayer:
    islands: list[Island] = field(default_factory=list)
    supports: dict[str, list[np.ndarray]] = field(default_factory=dict)
    # Brim lines: open polylines (a whole loop repeats its first point at the end), so a
    # loop trimmed where a neighbour is stays printable.
    brim: list[np.ndarray] = field(default_factory=list)


@dataclass
class PartPlan:
    layers: list[PartLayer]
    first_layer: manifold3d.CrossSection  # the part's (and brim's) footprint on the bed
    body: manifold3d.CrossSection  # the part's own first layer, without the brim
    empty_layers: list[int]  # layers where the mesh has area but nothing would print


def layer_width(settings: SliceSettings, index: int) -> float:
    return settings.first_layer_line_width_mm if index == 0 else settings.line_width_mm


def plan_part(
    vertices: np.ndarray,
    faces: np.ndarray,
    table: LayerTable,
    count: int,
    settings: SliceSettings,
    nozzle_mm: float = 0.4,
    progress: Callable[[float], None] | None = None,
) -> PartPlan:
    """Walls, skins, infill, supports and brim of one placed part (plate coordinates).

    `progress` hears the share of this part done (0..1) at each stage.
    """
    report = progress or (lambda _share: None)
    sections = slice_mesh(vertices, faces, table.slice_z[:count])
    while len(sections) > 1 and sections[-1].is_empty():
        sections.pop()  # a pointed top (the bunny's ear) can leave the last cut empty
    report(0.3)
    islands: list[list[Island]] = []
    inners: list[manifold3d.CrossSection] = []
    for index, section in enumerate(sections):
        found, inner = _walls_of_layer(section, settings, index, float(table.height[index]))
        islands.append(found)
        inners.append(inner)
    report(0.45)
    rules = SkinRules(
        top_layers=settings.top_layers,
        bottom_layers=settings.bottom_layers,
        width_mm=settings.line_width_mm,
        solid_below_area_mm2=settings.solid_below_area_mm2,
        vertical_shells=settings.vertical_shells,
        bridges=settings.bridges,
        expand_mm=settings.skin_expand_mm,
    )
    regions = split_regions(sections, inners, rules)
    report(0.7)
    layers = []
    for index, region in enumerate(regions):
        height = float(table.height[index])
        fills = _fills(region, settings, index, height, float(table.slice_z[index]), nozzle_mm)
        _assign(islands[index], fills)
        layers.append(PartLayer(islands=islands[index]))
    report(0.9)
    if settings.supports:
        _add_supports(layers, sections, table, settings)
    first = sections[0] if sections else manifold3d.CrossSection()
    brim = brim_loops(
        first, settings.brim_width_mm, settings.first_layer_line_width_mm, float(table.height[0])
    )
    if layers:
        layers[0].brim = [np.vstack([loop, loop[:1]]) for loop in brim]
    footprint = first + manifold3d.CrossSection([b for b in brim]) if brim else first
    empty = [
        i
        for i, (s, layer) in enumerate(zip(sections, layers, strict=True))
        if s.area() > 1e-3 and not any(isl.walls or isl.thin for isl in layer.islands)
    ]
    return PartPlan(layers=layers, first_layer=footprint, body=first, empty_layers=empty)


def _walls_of_layer(
    section: manifold3d.CrossSection, settings: SliceSettings, index: int, height: float
) -> tuple[list[Island], manifold3d.CrossSection]:
    width = layer_width(settings, index)
    islands = []
    inners = []
    for piece in section.decompose():
        walls = make_walls(piece, settings.perimeters, width, height, settings.infill_overlap)
        if not walls.loops and not walls.thin_loops:
            continue
        low_x, low_y, high_x, high_y = piece.bounds()
        islands.append(
            Island(
                walls=walls.loops,
                thin=walls.thin_loops,
                bbox=np.array([low_x, low_y, high_x, high_y]),
            )
        )
        if not walls.inner.is_empty():
            inners.append(walls.inner)
    inner = manifold3d.CrossSection.compose(inners) if inners else manifold3d.CrossSection()
    return islands, inner


def _fills(
    region: LayerRegions,
    settings: SliceSettings,
    index: int,
    height: float,
    z: float,
    nozzle_mm: float,
) -> dict[str, list[np.ndarray]]:
    width = layer_width(settings, index)
    step = spacing(width, height)
    angle = settings.infill_angle_deg + 90 * (index % 2)
    fills: dict[str, list[np.ndarray]] = {}
    if not region.top.is_empty():
        top_width = width if index == 0 else settings.top_line_width_mm
        fills[TOP_SKIN] = infill.solid_lines(region.top, spacing(top_width, height), angle)
    if not region.solid.is_empty():
        fills[SKIN] = infill.solid_lines(region.solid, step, angle)
    if not region.bridge.is_empty():
        fills[BRIDGE] = infill.bridge_lines(region.bridge, nozzle_mm)
    if not region.sparse.is_empty():
        fills[FILL] = infill.sparse_lines(
            region.sparse,
            settings.infill_pattern,
            settings.infill_density,
            step,
            settings.infill_angle_deg,
            index,
            z,
        )
    return fills


def _assign(islands: list[Island], fills: dict[str, list[np.ndarray]]) -> None:
    """Give each fill polyline to the island whose box holds its start (smallest box wins)."""
    if not islands:
        return
    boxes = np.array([isl.bbox for isl in islands])
    by_size = np.argsort((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
    boxes = boxes[by_size]
    for kind, lines in fills.items():
        if not lines:
            continue
        starts = np.array([line[0] for line in lines])
        inside = (
            (starts[:, None, 0] >= boxes[None, :, 0] - 1e-6)
            & (starts[:, None, 0] <= boxes[None, :, 2] + 1e-6)
            & (starts[:, None, 1] >= boxes[None, :, 1] - 1e-6)
            & (starts[:, None, 1] <= boxes[None, :, 3] + 1e-6)
        )
        owner = np.where(inside.any(axis=1), inside.argmax(axis=1), 0)
        for slot in np.unique(owner):
            chosen = np.flatnonzero(owner == slot)
            island = islands[int(by_size[slot])]
            island.fills.setdefault(kind, []).extend(lines[i] for i in chosen)


def _add_supports(
    layers: list[PartLayer],
    sections: list[manifold3d.CrossSection],
    table: LayerTable,
    settings: SliceSettings,
) -> None:
    heights = [float(h) for h in table.height[: len(sections)]]
    for index, support in enumerate(support_layers(sections, heights, settings)):
        width = layer_width(settings, index)
        step = spacing(width, heights[index])
        found: dict[str, list[np.ndarray]] = {}
        if not support.body.is_empty():
            segments = infill.scanline_segments(support.body, 0.0, step / settings.support_density)
            found[SUPPORT] = infill.join_segments(segments, 1.5 * step / settings.support_density)
        if not support.interface.is_empty():
            found[SUPPORT_INTERFACE] = infill.solid_lines(support.interface, step / 0.7, 90.0)
        layers[index].supports = found
