"""Give freed heap memory back to the operating system between big steps.

Building a manifold for a 250k-triangle mesh allocates ~60 MB in many small blocks; after it
is freed, glibc keeps them in its arenas, so the worker's resident size stays high for the
rest of the slice. `malloc_trim(0)` returns them. Elsewhere (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache
from typing import Any


@cache
def _trim() -> Any:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None)
    except OSError:
        return None


def release_memory() -> None:
    """Return free heap pages to the OS (glibc only)."""
    trim = _trim()
    if trim is not None:
        trim(0)
