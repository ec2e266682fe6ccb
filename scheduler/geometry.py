"""Convex footprints as numpy arrays: hulls, areas, rotations and support functions.

The nester works on support functions sampled at `DIRECTIONS` fixed directions 5 degrees
apart: h(u_k) = max over the outline of (v . u_k). Their half-planes bound a slightly larger
polygon than the outline, so anything computed from them is conservative. Two facts make
them fast: the support function of a Minkowski sum is the sum of support functions, and
rotating a shape by a multiple of 5 degrees shifts its samples by whole steps (a roll).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

DIRECTIONS = 72  # one every 5 degrees: 15, 45 and 90 degree rotations are whole steps
STEP_DEG = 360.0 / DIRECTIONS
ANGLES = np.arange(DIRECTIONS) * (2.0 * np.pi / DIRECTIONS)
UNIT = np.stack([np.cos(ANGLES), np.sin(ANGLES)], axis=1)  # (K, 2)

FloatArray = NDArray[np.float64]


def convex_hull(points: FloatArray) -> FloatArray:
    """Counter-clockwise hull of 2-D points (Andrew's monotone chain), no repeated vertex."""
    pts = np.unique(np.asarray(points, dtype=np.float64), axis=0)
    if len(pts) < 3:
        return pts
    order = np.lexsort((pts[:, 1], pts[:, 0]))
    pts = pts[order]

    def chain(seq: FloatArray) -> list[FloatArray]:
        out: list[FloatArray] = []
        for p in seq:
            while len(out) >= 2 and _cross(out[-2], out[-1], p) <= 1e-12:
                out.pop()
            out.append(p)
        return out

    lower = chain(pts)
    upper = chain(pts[::-1])
    return np.array(lower[:-1] + upper[:-1], dtype=np.float64)


def _cross(o: FloatArray, a: FloatArray, b: FloatArray) -> float:
    return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))


def polygon_area(vertices: FloatArray) -> float:
    """Area of a simple polygon (shoelace)."""
    x, y = vertices[:, 0], vertices[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def polygon_perimeter(vertices: FloatArray) -> float:
    return float(np.linalg.norm(np.roll(vertices, -1, axis=0) - vertices, axis=1).sum())


def rotate(vertices: FloatArray, degrees: float) -> FloatArray:
    """Rotate counter-clockwise about the origin."""
    rad = np.deg2rad(degrees)
    c, s = np.cos(rad), np.sin(rad)
    return vertices @ np.array([[c, s], [-s, c]])


def support(vertices: FloatArray) -> FloatArray:
    """h(u_k) for every sampling direction: shape (DIRECTIONS,)."""
    out: FloatArray = (vertices @ UNIT.T).max(axis=0)
    return out


def rotated_support(h: FloatArray, steps: int) -> FloatArray:
    """Support samples of the shape rotated by `steps` x 5 degrees counter-clockwise."""
    return np.roll(h, steps)


def _vertex_solvers() -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Coefficients that intersect sampling lines k and k+1: v = A_k^-1 (h_k, h_k+1)."""
    u0 = UNIT
    u1 = np.roll(UNIT, -1, axis=0)
    det = u0[:, 0] * u1[:, 1] - u0[:, 1] * u1[:, 0]
    return u1[:, 1] / det, -u0[:, 1] / det, -u1[:, 0] / det, u0[:, 0] / det


_A, _B, _C, _D = _vertex_solvers()


def support_vertices(h: NDArray[np.float64]) -> tuple[FloatArray, FloatArray]:
    """Vertices of the polygon bounded by the sampled support lines; h has shape (..., K).

    Vertex k joins the lines of directions k and k+1. Returns (x, y), each (..., K).
    """
    h1 = np.roll(h, -1, axis=-1)
    return _A * h + _B * h1, _C * h + _D * h1
