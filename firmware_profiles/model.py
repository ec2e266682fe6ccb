"""What a printer and its firmware are and accept: the typed Profile model.

Profiles are TOML files (see `profiles/`) loaded into these models by
`firmware_profiles.loader`. Every other part reads printers through `Profile`:
the slicer for the bed, nozzle, dialect and templates; the scheduler for the
bed and materials; the agent for the serial protocol and the safety policy;
the G-code interpreter for limits and the safety check.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Flavour(StrEnum):
    """G-code dialect the firmware speaks."""

    MARLIN = "marlin"  # Marlin 1.x and other legacy Marlin-like firmwares
    MARLIN2 = "marlin2"
    PRUSA_BUDDY = "prusa-buddy"  # Prusa MK4/XL/MINI firmware (Marlin 2 based)
    KLIPPER = "klipper"
    REPRAPFIRMWARE = "reprapfirmware"
    BAMBU = "bambu"


class Transport(StrEnum):
    """How the agent reaches the printer."""

    SERIAL = "serial"
    MOONRAKER = "moonraker"
    PRUSALINK = "prusalink"
    BAMBU_LAN = "bambu-lan"


class ObjectCancel(StrEnum):
    """How one labelled object of a plate is cancelled mid-print."""

    NONE = "none"
    M486 = "m486"
    EXCLUDE_OBJECT = "exclude_object"


class SerialSettings(_Section):
    baudrate: int = Field(default=115200, ge=9600, le=4_000_000)
    line_numbers: bool = True
    checksum: bool = True
    # "marlin": `Resend: N` followed by `ok`; "marlin-no-ok": `Resend: N` alone;
    # "rs": Repetier-style `rs N`.
    resend_style: Literal["marlin", "marlin-no-ok", "rs"] = "marlin"
    # Commands sent before waiting for their `ok` (1 = strict ok-based flow control).
    in_flight: int = Field(default=1, ge=1, le=32)
    # The firmware's receive buffer in bytes (Marlin's RX_BUFFER_SIZE).
    rx_buffer_bytes: int = Field(default=128, ge=32, le=8192)
    resend_history: int = Field(default=200, ge=100, le=100_000)
    # Seconds without any answer before a sent line is presumed lost.
    answer_timeout_s: float = Field(default=10.0, gt=0, le=600)
    reset_on_connect: bool = True


class Capabilities(_Section):
    autoreport_temperature: bool = False  # M155
    m73_progress: bool = False
    firmware_retraction: bool = False  # G10 / G11
    arcs: bool = False  # G2 / G3
    object_cancel: ObjectCancel = ObjectCancel.NONE
    m600_filament_change: bool = False
    relative_extrusion: bool = False  # slicer writes M83 + relative E


class Machine(_Section):
    bed_shape: Literal["rectangle", "circle"] = "rectangle"
    # Printable area in the printer's coordinates. For a circle bed, x and y are the
    # diameter and the origin is the centre.
    bed_x_mm: float = Field(gt=0, le=2000)
    bed_y_mm: float = Field(gt=0, le=2000)
    origin: Literal["front-left", "center"] = "front-left"
    max_z_mm: float = Field(gt=0, le=2000)
    nozzle_diameter_mm: float = Field(default=0.4, gt=0.05, le=3.0)
    filament_diameter_mm: float = Field(default=1.75, gt=0.5, le=3.5)
    heated_bed: bool = True
    heated_chamber: bool = False
    enclosed: bool = False
    # Tolerance outside the bed for moves (purge lines, parking) in mm.
    travel_margin_mm: float = Field(default=5.0, ge=0, le=100)

    def bed_bounds(self) -> tuple[float, float, float, float]:
        """(min_x, min_y, max_x, max_y) of the printable area."""
        if self.origin == "center":
            return (-self.bed_x_mm / 2, -self.bed_y_mm / 2, self.bed_x_mm / 2, self.bed_y_mm / 2)
        return (0.0, 0.0, self.bed_x_mm, self.bed_y_mm)


class AxisValues(_Section):
    x: float = Field(gt=0)
    y: float = Field(gt=0)
    z: float = Field(gt=0)
    e: float = Field(gt=0)


class Limits(_Section):
    max_hotend_c: float = Field(gt=0, le=500)
    max_bed_c: float = Field(default=0, ge=0, le=200)
    max_chamber_c: float = Field(default=0, ge=0, le=150)
    min_extrude_c: float = Field(default=170, ge=0, le=400)
    max_feedrate_mm_s: AxisValues
    max_acceleration_mm_s2: AxisValues
    max_acceleration_extruding_mm_s2: float = Field(gt=0)
    max_acceleration_retracting_mm_s2: float = Field(gt=0)
    max_acceleration_travel_mm_s2: float = Field(gt=0)
    max_jerk_mm_s: AxisValues
    # Klipper's square_corner_velocity; Marlin with junction deviation uses jerk-equivalent.
    square_corner_velocity_mm_s: float | None = Field(default=None, gt=0)
    # Longest extrude-only move (no XY motion) allowed outside the start template, mm of
    # filament; longer ones are a purge that empties the hotend onto the bed or a bad program.
    max_extrude_only_mm: float = Field(default=50.0, gt=0, le=1000)


class Material(_Section):
    """One material the printer can run and its safe ranges."""

    hotend_min_c: float = Field(ge=0, le=500)
    hotend_max_c: float = Field(ge=0, le=500)
    hotend_c: float = Field(ge=0, le=500)  # default printing temperature
    first_layer_hotend_c: float | None = Field(default=None, ge=0, le=500)
    bed_min_c: float = Field(default=0, ge=0, le=200)
    bed_max_c: float = Field(default=0, ge=0, le=200)
    bed_c: float = Field(default=0, ge=0, le=200)
    first_layer_bed_c: float | None = Field(default=None, ge=0, le=200)
    chamber_c: float = Field(default=0, ge=0, le=150)
    density_g_cm3: float = Field(default=1.24, gt=0.5, le=3.0)
    fan_min_percent: int = Field(default=0, ge=0, le=100)
    fan_max_percent: int = Field(default=100, ge=0, le=100)
    needs_enclosure: bool = False

    @model_validator(mode="after")
    def _ranges_hold(self) -> Material:
        if not self.hotend_min_c <= self.hotend_c <= self.hotend_max_c:
            raise ValueError(
                f"hotend_c {self.hotend_c} is outside hotend_min_c..hotend_max_c "
                f"({self.hotend_min_c}..{self.hotend_max_c})"
            )
        if not self.bed_min_c <= self.bed_c <= self.bed_max_c:
            raise ValueError(
                f"bed_c {self.bed_c} is outside bed_min_c..bed_max_c "
                f"({self.bed_min_c}..{self.bed_max_c})"
            )
        if self.fan_min_percent > self.fan_max_percent:
            raise ValueError("fan_min_percent is above fan_max_percent")
        return self


class Templates(_Section):
    """G-code templates. Placeholders in braces: {hotend_c}, {bed_c},
    {first_layer_hotend_c}, {first_layer_bed_c}, {chamber_c}, {material},
    {bed_x_mm}, {bed_y_mm}, {max_z_mm}, {print_min_x}, {print_min_y},
    {print_max_x}, {print_max_y}, {park_x}, {park_y}, {park_z}.
    Unknown placeholders are an error at load time."""

    start: str = ""
    end: str = ""
    cancel: str = ""
    pause: str = ""
    resume: str = ""


class SafetyPolicy(_Section):
    # Command words never sent to this printer (EEPROM writes, firmware update, ...).
    blocked: list[str] = Field(default_factory=list)
    # Commands that stop the print until a person acts (filament change, prompts).
    operator: list[str] = Field(default_factory=list)
    # Commands whose values are checked against the profile's limits.
    clamped: list[str] = Field(default_factory=list)


class Profile(_Section):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    name: str = Field(min_length=1, max_length=120)
    vendor: str = Field(default="", max_length=120)
    url: str = Field(default="", max_length=300)  # where the published figures come from
    abstract: bool = False  # base profiles meant only to be inherited from
    inherits: str | None = None
    flavour: Flavour
    transport: Transport
    serial: SerialSettings = SerialSettings()
    capabilities: Capabilities = Capabilities()
    machine: Machine
    limits: Limits
    materials: dict[str, Material] = Field(default_factory=dict)
    gcode: Templates = Templates()
    safety: SafetyPolicy = SafetyPolicy()

    def material(self, name: str) -> Material:
        """The material by name (case-insensitive); KeyError with the choices if absent."""
        for key, value in self.materials.items():
            if key.lower() == name.lower():
                return value
        raise KeyError(
            f"profile {self.id} has no material {name!r}; it runs: "
            + ", ".join(sorted(self.materials))
        )
