"""A plate as planning and evaluation handle it: printer, spool, parts, duration and times."""

from __future__ import annotations

import math
from dataclasses import dataclass

from protocol.planning import Placement
from scheduler.nesting import Placed


@dataclass
class Draft:
    """A plate decided by the dispatcher (or kept fixed), with its simulated times."""

    printer: int
    group: int
    parts: list[int]
    seconds: float
    placements: list[Placed] | None = None  # the nester's places (new plates)
    fixed_placements: list[Placement] | None = None  # locked and promised plates keep theirs
    fixed_id: str | None = None
    locked: bool = False
    running: bool = False  # already printing: its times are given, not simulated
    promised: bool = False
    utilisation: float = 0.0
    bed_full: bool = False
    start: float = math.nan
    end: float = math.nan
    spool_change: bool = False
