"""Print order on one layer: parts, islands and paths, seams, shortest sensible travel.

Greedy nearest neighbour: the next part is the closest to the nozzle, within it the closest
island; an island prints its walls from the inside out (outer wall last, for accuracy),
then its skins and infill, each block entered from its nearer end. Loops start at the seam
(aligned with the part's previous seam, at the rear, or nearest to the nozzle).
"""

from __future__ import annotations

import numpy as np

from slicing.combing import comb
from slicing.planner import Island, PartLayer, layer_width
from slicing.settings import SliceSettings
from slicing.toolpaths import (
    BRIDGE,
    BRIM,
    FILL,
    SKIN,
    SUPPORT,
    SUPPORT_INTERFACE,
    TOP_SKIN,
    WALL_INNER,
    WALL_OUTER,
    ObjectLayer,
    Path,
)

FILL_ORDER = (BRIDGE, SKIN, TOP_SKIN, FILL)
SUPPORT_ORDER = (SUPPORT, SUPPORT_INTERFACE)


def feature_speed(kind: str, settings: SliceSettings, layer_index: int) -> float:
    if layer_index == 0:
        return settings.first_layer_speed
    return {
        WALL_OUTER: settings.outer_wall_speed,
        WALL_INNER: settings.inner_wall_speed,
        SKIN: settings.solid_infill_speed,
        TOP_SKIN: settings.top_speed,
        FILL: settings.infill_speed,
        SUPPORT: settings.support_speed,
        SUPPORT_INTERFACE: settings.support_speed,
        BRIDGE: settings.bridge_speed,
    }.get(kind, settings.first_layer_speed)


class LayerOrderer:
    """Orders one layer of every part; remembers each part's seam between layers."""

    def __init__(self, settings: SliceSettings, nozzle_mm: float = 0.4) -> None:
        self.settings = settings
        self.nozzle_mm = nozzle_mm
        self.seams: dict[int, np.ndarray] = {}

    def order(
        self, work: list[tuple[int, PartLayer]], layer_index: int, position: np.ndarray
    ) -> tuple[list[ObjectLayer], np.ndarray]:
        pending = list(work)
        result = []
        while pending:
            nearest = min(
                range(len(pending)), key=lambda k: _distance_to_part(pending[k][1], position)
            )
            part_index, part_layer = pending.pop(nearest)
            paths, position = self._part(part_index, part_layer, layer_index, position)
            result.append(ObjectLayer(part_index=part_index, paths=paths))
        return result, position

    def _part(
        self, part_index: int, layer: PartLayer, index: int, position: np.ndarray
    ) -> tuple[list[Path], np.ndarray]:
        paths: list[Path] = []
        width = layer_width(self.settings, index)
        position = self._polylines(paths, layer.brim, BRIM, index, position, width)
        for kind in SUPPORT_ORDER:
            position = self._polylines(
                paths, layer.supports.get(kind, []), kind, index, position, width
            )
        islands = list(layer.islands)
        while islands:
            k = int(np.argmin([np.hypot(*(isl.centre - position)) for isl in islands]))
            position = self._island(paths, part_index, islands.pop(k), index, position)
        return paths, position

    def _island(
        self,
        paths: list[Path],
        part_index: int,
        island: Island,
        index: int,
        position: np.ndarray,
    ) -> np.ndarray:
        settings = self.settings
        width = layer_width(settings, index)
        first = len(paths)
        for wall in range(len(island.walls) - 1, -1, -1):
            kind = WALL_OUTER if wall == 0 else WALL_INNER
            speed = feature_speed(kind, settings, index)
            for loop in _nearest_first(island.walls[wall], position):
                start = self._seam(part_index, loop, position, outer=wall == 0)
                paths.append(Path(kind, start, True, width, speed))
                position = start[0]
        for loop in island.thin:
            start = self._seam(part_index, loop, position, outer=False)
            paths.append(
                Path(WALL_OUTER, start, True, width / 2, feature_speed(WALL_OUTER, settings, index))
            )
            position = start[0]
        for kind in FILL_ORDER:
            fill_width = width
            if kind == TOP_SKIN and index > 0:
                fill_width = settings.top_line_width_mm
            elif kind == BRIDGE:
                fill_width = self.nozzle_mm
            position = self._polylines(
                paths, island.fills.get(kind, []), kind, index, position, fill_width
            )
        if settings.combing:
            comb(paths, first, [loop for loops in island.walls for loop in loops] + island.thin)
        return position

    def _polylines(
        self,
        paths: list[Path],
        lines: list[np.ndarray],
        kind: str,
        index: int,
        position: np.ndarray,
        width: float,
    ) -> np.ndarray:
        if not lines:
            return position
        ordered = nearest_polylines(lines, position)
        speed = feature_speed(kind, self.settings, index)
        links = (
            kind == FILL
            and self.settings.infill_pattern in ("grid", "lines")
            and (self.settings.infill_density < 0.999)
        )
        paths.extend(Path(kind, line, False, width, speed, links) for line in ordered)
        return ordered[-1][-1]

    def _seam(
        self, part_index: int, loop: np.ndarray, position: np.ndarray, outer: bool
    ) -> np.ndarray:
        mode = self.settings.seam
        if mode == "rear":
            k = int(np.lexsort((loop[:, 0], -loop[:, 1]))[0])
        elif mode == "nearest":
            k = int(np.argmin(np.hypot(*(loop - position).T)))
        else:
            target = self.seams.get(part_index)
            if target is None:
                k = int(np.lexsort((loop[:, 0], -loop[:, 1]))[0])
            else:
                k = int(np.argmin(np.hypot(*(loop - target).T)))
            if outer:
                self.seams[part_index] = loop[k]
        return np.roll(loop, -k, axis=0)


def _distance_to_part(layer: PartLayer, position: np.ndarray) -> float:
    centres = [isl.centre for isl in layer.islands]
    if not centres:
        return float("inf") if not layer.supports and not layer.brim else 0.0
    return float(np.min(np.hypot(*(np.array(centres) - position).T)))


def _nearest_first(loops: list[np.ndarray], position: np.ndarray) -> list[np.ndarray]:
    """Loops in greedy nearest-neighbour order from `position` (by their nearest vertex)."""
    pending = list(loops)
    ordered = []
    while pending:
        k = int(np.argmin([np.hypot(*(loop - position).T).min() for loop in pending]))
        loop = pending.pop(k)
        ordered.append(loop)
        position = loop[int(np.argmin(np.hypot(*(loop - position).T)))]
    return ordered


def nearest_polylines(lines: list[np.ndarray], position: np.ndarray) -> list[np.ndarray]:
    """Greedy nearest-neighbour order of open polylines, each entered from its nearer end."""
    if len(lines) == 1:
        line = lines[0]
        nearer_tail = np.hypot(*(line[-1] - position)) < np.hypot(*(line[0] - position))
        return [line[::-1] if nearer_tail else line]
    heads = np.array([line[0] for line in lines])
    tails = np.array([line[-1] for line in lines])
    pending = np.ones(len(lines), dtype=bool)
    ordered = []
    here = np.asarray(position, dtype=np.float64)
    for _ in range(len(lines)):
        to_head = np.hypot(*(heads - here).T)
        to_tail = np.hypot(*(tails - here).T)
        to_head[~pending] = np.inf
        to_tail[~pending] = np.inf
        k_head, k_tail = int(np.argmin(to_head)), int(np.argmin(to_tail))
        if to_tail[k_tail] < to_head[k_head]:
            pending[k_tail] = False
            ordered.append(lines[k_tail][::-1])
            here = heads[k_tail]
        else:
            pending[k_head] = False
            ordered.append(lines[k_head])
            here = tails[k_head]
    return ordered
