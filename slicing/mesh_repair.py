"""Repairs that turn a sloppy export into a closed, consistently wound solid.

Plain functions over numpy arrays: merge coincident vertices, drop degenerate and duplicate
triangles, make the winding consistent and outward, and close holes by fanning each open
boundary loop to its centroid (the Stanford bunny's open base is the classic case). Each
function returns the new arrays and a sentence for the repair log, or None when it changed
nothing.
"""

from __future__ import annotations

import numpy as np

MERGE_TOLERANCE_MM = 1e-4


def merge_vertices(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weld vertices closer than MERGE_TOLERANCE_MM (on a grid); faces re-indexed.

    Returns float64 vertices. Works column by column to keep the peak memory of a large
    triangle soup (an STL) low.
    """
    low = vertices.min(axis=0).astype(np.float64)
    high = vertices.max(axis=0).astype(np.float64)
    span = np.round((high - low) / MERGE_TOLERANCE_MM).astype(np.int64) + 1
    if float(span[0]) * float(span[1]) * float(span[2]) < 2.0**62:
        # One integer key per vertex: a single argsort instead of a three-key lexsort.
        key = _cell(vertices[:, 0], low[0])
        for axis in (1, 2):
            key *= span[axis]
            key += _cell(vertices[:, axis], low[axis])
        order = np.argsort(key, kind="stable")
        ordered = key[order]
        del key
        new_group = np.empty(len(order), dtype=bool)
        new_group[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=new_group[1:])
        del ordered
    else:
        cells = np.column_stack([_cell(vertices[:, k], low[k]) for k in range(3)])
        order = np.lexsort((cells[:, 2], cells[:, 1], cells[:, 0]))
        ordered3 = cells[order]
        new_group = np.empty(len(order), dtype=bool)
        new_group[0] = True
        np.any(ordered3[1:] != ordered3[:-1], axis=1, out=new_group[1:])
    group = np.cumsum(new_group) - 1
    remap = np.empty(len(order), dtype=np.int64)
    remap[order] = group
    merged = vertices[order[new_group]].astype(np.float64)
    return merged, remap[faces]


def _cell(column: np.ndarray, low: float) -> np.ndarray:
    return np.round((column.astype(np.float64) - low) / MERGE_TOLERANCE_MM).astype(np.int64)


def drop_degenerate(faces: np.ndarray) -> tuple[np.ndarray, str | None]:
    """Remove triangles that repeat a vertex and triangles listed twice."""
    a, b, c = faces[:, 0], faces[:, 1], faces[:, 2]
    keep = (a != b) & (b != c) & (c != a)
    degenerate = int(len(faces) - keep.sum())
    faces = faces[keep]
    canonical = np.sort(faces, axis=1)
    order = np.lexsort((canonical[:, 2], canonical[:, 1], canonical[:, 0]))
    ordered = canonical[order]
    repeat = np.zeros(len(order), dtype=bool)
    repeat[1:] = np.all(ordered[1:] == ordered[:-1], axis=1)
    duplicates = int(repeat.sum())
    if duplicates:
        drop = np.zeros(len(faces), dtype=bool)
        drop[order[repeat]] = True
        faces = faces[~drop]
    notes = []
    if degenerate:
        notes.append(f"removed {degenerate} degenerate triangles")
    if duplicates:
        notes.append(f"removed {duplicates} duplicate triangles")
    return faces, ("; ".join(notes) if notes else None)


def _directed(faces: np.ndarray) -> np.ndarray:
    return faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)


def winding_is_consistent(faces: np.ndarray, vertex_count: int) -> bool:
    """True when no directed edge appears twice (neighbours disagree on orientation)."""
    directed = _directed(faces)
    keys = np.sort(directed[:, 0] * vertex_count + directed[:, 1])
    return not bool(np.any(keys[1:] == keys[:-1]))


def open_edges(faces: np.ndarray, vertex_count: int) -> np.ndarray:
    """Directed edges (K, 2) whose reverse no triangle has: the rims of holes."""
    directed = _directed(faces)
    forward = np.sort(directed[:, 0] * vertex_count + directed[:, 1])
    backward = directed[:, 1] * vertex_count + directed[:, 0]
    slot = np.minimum(np.searchsorted(forward, backward), len(forward) - 1)
    return directed[forward[slot] != backward]


def fix_winding(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, str | None]:
    """Make neighbouring triangles agree on their orientation (trimesh's face BFS)."""
    if winding_is_consistent(faces, len(vertices)):
        return faces, None
    import trimesh

    mesh = trimesh.Trimesh(vertices=vertices, faces=faces, process=False)
    trimesh.repair.fix_winding(mesh)
    fixed = np.asarray(mesh.faces, dtype=np.int64)
    flipped = int(np.any(fixed != faces, axis=1).sum())
    return fixed, f"made the winding of {flipped} triangles consistent with their neighbours"


def signed_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Volume enclosed by the triangles (negative when the winding points inward)."""
    a = vertices[faces[:, 0]]
    b = vertices[faces[:, 1]]
    c = vertices[faces[:, 2]]
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def boundary_loops(faces: np.ndarray, vertex_count: int) -> list[np.ndarray]:
    """Open boundary loops as vertex-index arrays, in the direction of their edges."""
    rims = open_edges(faces, vertex_count)
    if len(rims) == 0:
        return []
    outgoing: dict[int, list[int]] = {}
    for start, end in rims.tolist():
        outgoing.setdefault(start, []).append(end)
    loops: list[np.ndarray] = []
    while outgoing:
        start = next(iter(outgoing))
        loop = [start]
        current = start
        while True:
            targets = outgoing.get(current)
            if not targets:
                break
            nxt = targets.pop()
            if not targets:
                del outgoing[current]
            if nxt == start:
                break
            loop.append(nxt)
            current = nxt
        if len(loop) >= 3:
            loops.append(np.asarray(loop, dtype=np.int64))
    return loops


def fill_holes(
    vertices: np.ndarray, faces: np.ndarray, loops: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Close each boundary loop with a fan of triangles to a new vertex at its centroid."""
    new_vertices = [vertices]
    new_faces = [faces]
    next_index = len(vertices)
    for loop in loops:
        centre = vertices[loop].mean(axis=0)
        new_vertices.append(centre[None, :])
        following = np.roll(loop, -1)
        # The open edge runs loop[i] -> loop[i+1]; the patch must run it the other way.
        fan = np.column_stack([following, loop, np.full(len(loop), next_index)])
        new_faces.append(fan)
        next_index += 1
    return np.vstack(new_vertices), np.vstack(new_faces)
