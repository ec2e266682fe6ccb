"""Where the print head is, as far as the lines sent so far say: for parking on pause
and returning on resume, and for leaving out the moves of a cancelled object when the
firmware has no M486 of its own.

Only what the agent itself needs is tracked: absolute or relative XYZ (G90/G91) and E
(M82/M83, with G90/G91 switching E as Marlin does), the last X, Y, Z, E and feed rate
(G0-G3, G92) and whether the printer has been homed (G28).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"([XYZEF])\s*(-?\d+(?:\.\d*)?|-?\.\d+)")
_MOVES = ("G0", "G1", "G2", "G3")


def command_word(command: str) -> str:
    """`G1` of `G1 X5 Y7`, `M486` of `M486 S1`: upper case, no leading zeros."""
    head = command.split(None, 1)[0].upper() if command.strip() else ""
    if len(head) > 1 and head[0] in "GMT" and head[1:].isdigit():
        return head[0] + str(int(head[1:]))
    return head


@dataclass
class HeadPosition:
    x: float | None = None
    y: float | None = None
    z: float | None = None
    e: float = 0.0
    feed_mm_min: float | None = None
    relative_xyz: bool = False
    relative_e: bool = False
    homed: bool = False

    def follow(self, command: str) -> None:
        """Update from one command as the firmware will execute it."""
        word = command_word(command)
        if word in _MOVES:
            self._move(command)
        elif word == "G90":
            self.relative_xyz = self.relative_e = False
        elif word == "G91":
            self.relative_xyz = self.relative_e = True
        elif word == "M82":
            self.relative_e = False
        elif word == "M83":
            self.relative_e = True
        elif word == "G92":
            self._set(command)
        elif word == "G28":
            self.homed = True
            self.x = self.y = self.z = None  # where the endstops are is the printer's business

    def _move(self, command: str) -> None:
        for letter, text in _WORD.findall(command.upper()):
            value = float(text)
            if letter == "F":
                self.feed_mm_min = value
            elif letter == "E":
                self.e = self.e + value if self.relative_e else value
            else:
                current = getattr(self, letter.lower())
                relative = self.relative_xyz and current is not None
                setattr(self, letter.lower(), current + value if relative else value)

    def _set(self, command: str) -> None:
        for letter, text in _WORD.findall(command.upper()):
            if letter != "F":
                setattr(self, letter.lower(), float(text))

    def park(self, lift_mm: float, park_xy: tuple[float, float], max_z_mm: float) -> list[str]:
        """Commands that lift the head and move it aside (nothing when it is not known
        where the head is)."""
        if self.x is None or self.y is None or self.z is None:
            return []
        lifted = min(self.z + lift_mm, max_z_mm)
        return [
            "G90",
            f"G1 Z{lifted:.3f} F600",
            f"G1 X{park_xy[0]:.3f} Y{park_xy[1]:.3f} F6000",
            "M400",
        ]

    def restore(self) -> list[str]:
        """Commands that bring the head back from `park()` and restore the modes."""
        if self.x is None or self.y is None or self.z is None:
            return []
        commands = ["G90", f"G1 X{self.x:.3f} Y{self.y:.3f} F6000", f"G1 Z{self.z:.3f} F600"]
        commands += self.modes()
        return commands

    def modes(self) -> list[str]:
        """Commands that put the firmware back into the program's modes and feed rate."""
        commands = ["G91" if self.relative_xyz else "G90"]
        if self.relative_e != self.relative_xyz:
            commands.append("M83" if self.relative_e else "M82")
        if self.feed_mm_min is not None:
            commands.append(f"G1 F{self.feed_mm_min:g}")
        return commands
