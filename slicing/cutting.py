"""Cut a closed triangle mesh into layer outlines with numpy alone.

For a closed, consistently wound mesh every triangle that a plane crosses contributes one
segment, running from the crossing on one of its edges to the crossing on another, with the
solid on its left. Neighbouring triangles share the crossed edge, so the segments chain into
closed loops by matching edge ids: one sort and one search per batch of layers, then a walk
over the chain. The loops become manifold3d CrossSections (positive fill), simplified like
manifold3d's own slices. It needs no solid to be built first, so it uses a fraction of
manifold3d's memory on big scans; a mesh whose crossings do not chain (not closed) returns
None and the caller falls back to manifold3d and then trimesh.
"""

from __future__ import annotations

import manifold3d
import numpy as np

from slicing.memory import release_memory

_BATCH_CROSSINGS = 40_000  # bounds the temporary arrays of one batch of layers


def edge_ids(faces: np.ndarray) -> np.ndarray | None:
    """Undirected edge id of each face's edges (M, 3); None unless every edge has 2 faces."""
    tail = faces.astype(np.int64)
    head = np.roll(tail, -1, axis=1)  # edge j of a face runs from corner j to corner j + 1
    key = np.minimum(tail, head)
    key *= int(faces.max()) + 1
    key += np.maximum(tail, head)
    del tail, head
    key = key.ravel()
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    if len(ordered) % 2 or not np.array_equal(ordered[0::2], ordered[1::2]):
        return None
    if len(ordered) > 2 and np.any(ordered[2::2] == ordered[1:-1:2]):
        return None  # an edge shared by four or more faces
    ids = np.empty(len(key), dtype=np.int64)
    ids[order] = np.arange(len(key)) // 2
    return ids.reshape(-1, 3)


def cut(
    vertices: np.ndarray, faces: np.ndarray, slice_z: np.ndarray
) -> list[list[np.ndarray]] | None:
    """Closed loops (lists of (K, 2) arrays) per height, or None for a mesh that is not closed."""
    edges = edge_ids(faces)
    if edges is None:
        return None
    corner_z = vertices[:, 2][faces]
    # A plane crosses a triangle when zmin <= z < zmax: a corner exactly on the plane counts
    # as below it, so a face lying in the plane is the bottom of what is above (manifold3d's
    # rule too: a cut through a top face is empty, through a bottom face is not).
    first = np.searchsorted(slice_z, corner_z.min(axis=1), side="left")
    last = np.searchsorted(slice_z, corner_z.max(axis=1), side="left")
    per_layer = np.zeros(len(slice_z) + 1, dtype=np.int64)
    np.add.at(per_layer, first, 1)
    np.add.at(per_layer, last, -1)
    load = np.cumsum(per_layer)[:-1]
    loops: list[list[np.ndarray]] = [[] for _ in slice_z]
    start = 0
    while start < len(slice_z):
        stop = start + 1
        total = load[start]
        while stop < len(slice_z) and total + load[stop] <= _BATCH_CROSSINGS:
            total += load[stop]
            stop += 1
        found = _cut_batch(vertices, faces, edges, corner_z, first, last, slice_z, start, stop)
        if found is None:
            return None
        for layer, loop in found:
            loops[layer].append(loop)
        start = stop
    return loops


def _cut_batch(
    vertices: np.ndarray,
    faces: np.ndarray,
    edges: np.ndarray,
    corner_z: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    slice_z: np.ndarray,
    start: int,
    stop: int,
) -> list[tuple[int, np.ndarray]] | None:
    lo = np.maximum(first, start)
    hi = np.minimum(last, stop)
    counts = np.maximum(hi - lo, 0)
    crossing = np.flatnonzero(counts)
    counts = counts[crossing]
    if len(crossing) == 0:
        return []
    tri = np.repeat(crossing, counts)
    layer = lo[tri] + (np.arange(len(tri)) - np.repeat(np.cumsum(counts) - counts, counts))
    z = slice_z[layer]
    above = corner_z[tri] > z[:, None]
    lone_above = above.sum(axis=1) == 1
    odd = np.where(lone_above, above.argmax(axis=1), above.argmin(axis=1))
    after = (odd + 1) % 3
    before = (odd + 2) % 3
    # The lone corner's two edges are crossed: edge `odd` (odd -> after) and edge `before`
    # (before -> odd). With the lone corner above, the solid lies left of odd-edge -> before-edge.
    rows = np.arange(len(tri))
    tri_faces = faces[tri]
    p_odd = vertices[tri_faces[rows, odd]]
    p_after = vertices[tri_faces[rows, after]]
    p_before = vertices[tri_faces[rows, before]]
    on_odd_edge = _at_height(p_odd, p_after, z)
    on_before_edge = _at_height(p_before, p_odd, z)
    tri_edges = edges[tri]
    edge_odd = tri_edges[rows, odd]
    edge_before = tri_edges[rows, before]
    start_edge = np.where(lone_above, edge_odd, edge_before)
    end_edge = np.where(lone_above, edge_before, edge_odd)
    points = np.where(lone_above[:, None], on_odd_edge, on_before_edge)
    stride = int(edges.max()) + 1
    start_key = layer * stride + start_edge
    end_key = layer * stride + end_edge
    order = np.argsort(start_key)
    sorted_start = start_key[order]
    slot = np.minimum(np.searchsorted(sorted_start, end_key), len(order) - 1)
    if not np.array_equal(sorted_start[slot], end_key):
        return None
    return _walk(order[slot], points, layer)


def _at_height(a: np.ndarray, b: np.ndarray, z: np.ndarray) -> np.ndarray:
    t = (z - a[:, 2]) / (b[:, 2] - a[:, 2])
    return a[:, :2] + (b[:, :2] - a[:, :2]) * t[:, None]


def _walk(
    following: np.ndarray, points: np.ndarray, layer: np.ndarray
) -> list[tuple[int, np.ndarray]]:
    """Split the successor permutation into its cycles (the loops), in walking order.

    Pointer doubling instead of a walk per segment: each segment learns the smallest index
    on its cycle (the loop's head) and how many steps it is from the head, in O(log n)
    whole-array passes.
    """
    count = len(following)
    index = np.arange(count)
    head = index.copy()
    jump = following.copy()
    while True:
        lower = np.minimum(head, head[jump])
        jump = jump[jump]
        if np.array_equal(lower, head):
            break
        head = lower
    # Break each cycle at its head and count the steps from every segment to it
    # (list ranking: `steps` is the distance to `succ`, both doubled each pass).
    is_head = head == index
    succ = np.where(is_head, index, following)
    steps = (~is_head).astype(np.int64)
    while not np.array_equal(succ, head):
        steps = steps + steps[succ]
        succ = succ[succ]
    length = np.bincount(head, minlength=count)[head]
    position = (length - steps) % length
    order = np.lexsort((position, head))
    ordered_heads = head[order]
    starts = np.flatnonzero(np.r_[True, ordered_heads[1:] != ordered_heads[:-1]])
    ends = np.r_[starts[1:], count]
    found = []
    ordered_points = points[order]
    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        if hi - lo >= 3:
            found.append((int(layer[order[lo]]), ordered_points[lo:hi]))
    return found


def sections(
    vertices: np.ndarray, faces: np.ndarray, slice_z: np.ndarray, simplify_mm: float
) -> list[manifold3d.CrossSection] | None:
    """CrossSections per height from `cut`, or None for a mesh that is not closed."""
    loops = cut(
        np.asarray(vertices, dtype=np.float64),
        np.asarray(faces, dtype=np.int64),
        np.asarray(slice_z, dtype=np.float64),
    )
    release_memory()
    if loops is None:
        return None
    return [
        manifold3d.CrossSection(layer, manifold3d.FillRule.Positive).simplify(simplify_mm)
        if layer
        else manifold3d.CrossSection()
        for layer in loops
    ]
