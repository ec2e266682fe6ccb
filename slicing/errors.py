"""Errors the slicer raises for input a person can fix: a rejected mesh or plate.

Each carries a short machine-readable `code` (for the wire and for tests) and a `reason`
written for the shop or the operator: what is wrong and what to do about it.
"""

from __future__ import annotations


class SlicingError(Exception):
    """Base of the slicer's actionable errors."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # Keep (code, reason) when the error crosses a process boundary (worker pools).
        return (type(self), (self.code, self.reason))


class MeshRejected(SlicingError):
    """The mesh cannot be printed as it is; `reason` says why and what would fix it."""


class PlateRejected(SlicingError):
    """The plate's layout cannot be printed (parts collide, leave the bed, ...)."""
