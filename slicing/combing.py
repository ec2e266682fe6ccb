"""Combing: travel inside a part without retracting when it crosses no wall.

A travel between two paths of the same island that crosses none of the island's wall loops
stays over the part's own infill, where oozing does no harm, so the retraction (and its
time) is skipped; anything that crosses a wall, a hole or the outside still retracts. The
crossing test is the orientation test for every travel against every wall edge, in numpy
blocks small enough to keep memory flat.
"""

from __future__ import annotations

import numpy as np

from slicing.infill import polygon_edges
from slicing.toolpaths import Path

_BLOCK = 200_000  # travels x edges tested at once
_TRAVELS_PER_BLOCK = 16


def comb(paths: list[Path], first: int, walls: list[np.ndarray]) -> None:
    """Mark paths[first + 1:] whose travel from the path before crosses no wall loop."""
    if len(paths) - first < 2 or not walls:
        return
    ends = np.array([p.end for p in paths[first:-1]])
    starts = np.array([p.start for p in paths[first + 1 :]])
    edge_a, edge_b = polygon_edges(walls)
    clear = ~crosses_any(ends, starts, edge_a, edge_b)
    for path, inside in zip(paths[first + 1 :], clear.tolist(), strict=True):
        path.combed = inside


def crosses_any(p: np.ndarray, q: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each segment p[i]->q[i], whether it properly crosses any segment a[j]->b[j].

    Travels come in print order, so neighbours are close: each block of them is tested only
    against the edges that reach into the block's bounding box.
    """
    result = np.zeros(len(p), dtype=bool)
    edge_low = np.minimum(a, b)
    edge_high = np.maximum(a, b)
    for lo in range(0, len(p), _TRAVELS_PER_BLOCK):
        pp, qq = p[lo : lo + _TRAVELS_PER_BLOCK], q[lo : lo + _TRAVELS_PER_BLOCK]
        low = np.minimum(pp, qq).min(axis=0)
        high = np.maximum(pp, qq).max(axis=0)
        near = np.flatnonzero(np.all(edge_high >= low, axis=1) & np.all(edge_low <= high, axis=1))
        if len(near) == 0:
            continue
        result[lo : lo + len(pp)] = _crossing(pp, qq, a[near], b[near])
    return result


def _crossing(p: np.ndarray, q: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    result = np.zeros(len(p), dtype=bool)
    rows = max(1, _BLOCK // len(a))
    edge = b - a
    for lo in range(0, len(p), rows):
        pp, qq = p[lo : lo + rows, None, :], q[lo : lo + rows, None, :]
        d1 = _cross(edge, pp - a)
        d2 = _cross(edge, qq - a)
        travel = qq - pp
        d3 = _cross(travel, a - pp)
        d4 = _cross(travel, b - pp)
        result[lo : lo + rows] = ((d1 * d2 < 0) & (d3 * d4 < 0)).any(axis=1)
    return result


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]
