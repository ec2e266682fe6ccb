"""The printer as the program leaves it after each line: position, modes, heaters, fans.

Positions are *machine* positions, in millimetres on the bed, as the motors put the
nozzle: `G92` shifts only the program's coordinate system (`offset_*`), so after
`G92 X0` at X=200 a `G1 X100` is at machine X=300 and the safety check sees it off the
bed. Homing (`G28`) puts the homed axes at the bed origin (0, 0, 0) and clears their shift.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from firmware_profiles.gcode.dialects import Dialect, extruder_relative

INCH_MM = 25.4
DEFAULT_FEEDRATE_MM_S = 25.0  # Marlin's feedrate before the first F word (1500 mm/min)


@dataclass(slots=True)
class MachineState:
    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    homed_x: bool = False
    homed_y: bool = False
    homed_z: bool = False
    # G92 shift: machine position = program value (in mm) + offset.
    offset_x: float = 0.0
    offset_y: float = 0.0
    offset_z: float = 0.0
    e_logical: float = 0.0  # E as the program counts it; G92 E resets it
    e_filament: float = 0.0  # filament pushed so far net of retractions, flow applied
    e_filament_max: float = 0.0  # the most e_filament has been: what the print consumes
    g91: bool = False  # the last of G90/G91 was G91
    e_mode: str = "follow"  # "relative"/"absolute" after M83/M82, "follow" after G90/G91
    inches: bool = False
    feed_mm_s: float = DEFAULT_FEEDRATE_MM_S  # speed factor applied
    speed_factor: float = 1.0  # M220
    saved_speed_factor: float = 1.0  # M220 B / R
    flow_factor: float = 1.0  # M221
    tool: int = 0
    hotend_c: dict[int, float] = field(default_factory=dict)  # tool -> target
    standby_c: dict[int, float] = field(default_factory=dict)  # RRF standby targets
    bed_c: float = 0.0
    chamber_c: float = 0.0
    hotend_waited: bool = False  # any wait for the hotend so far
    fan_percent: float = 0.0
    prev_extruding: bool = False  # the last move extruded (its end starts the next one)
    current_object: str | None = None
    # Heater problems already reported for the current targets (cleared when they change).
    heat_reported: set[str] = field(default_factory=set)

    @property
    def homed(self) -> bool:
        return self.homed_x and self.homed_y and self.homed_z

    def relative_e(self, dialect: Dialect) -> bool:
        return extruder_relative(dialect.extruder_mode, self.g91, self.e_mode)

    @property
    def hotend_target(self) -> float:
        return self.hotend_c.get(self.tool, 0.0)

    @property
    def scale(self) -> float:
        """Millimetres per program unit (G20/G21)."""
        return INCH_MM if self.inches else 1.0
