"""Slice settings: one typed, frozen object with defaults per quality and material.

`SliceSettings.for_quality("standard", material="PLA", infill_density=0.15)` starts from the
quality preset ("draft" 0.28 mm, "standard" 0.2 mm, "fine" 0.12 mm), applies what suits the
material family (PETG, ABS, TPU, ...) and then the caller's overrides. `with_overrides`
takes the strings of `makerfarm slice --set key=value`. Temperatures and fan limits come
from the printer profile's material, not from here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

InfillPattern = Literal["grid", "lines", "gyroid", "honeycomb"]
SeamPosition = Literal["aligned", "rear", "nearest"]
Quality = Literal["draft", "standard", "fine"]


class SliceSettings(BaseModel):
    """Everything that shapes the toolpaths. Lengths in mm, speeds in mm/s."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    quality: str = "standard"
    layer_height_mm: float = Field(0.2, ge=0.04, le=1.0)
    first_layer_height_mm: float = Field(0.2, ge=0.05, le=1.0)
    line_width_mm: float = Field(0.45, ge=0.1, le=3.0)
    first_layer_line_width_mm: float = Field(0.42, ge=0.1, le=3.0)
    top_line_width_mm: float = Field(0.42, ge=0.1, le=3.0)
    perimeters: int = Field(2, ge=1, le=20)
    top_layers: int = Field(4, ge=0, le=50)
    bottom_layers: int = Field(4, ge=0, le=50)
    infill_density: float = Field(0.2, ge=0.0, le=1.0)
    infill_pattern: InfillPattern = "grid"
    infill_angle_deg: float = 45.0
    infill_overlap: float = Field(0.25, ge=0.0, le=0.5)  # fraction of a line width
    solid_below_area_mm2: float = Field(70.0, ge=0, le=10000)  # smaller infill islands: solid
    vertical_shells: bool = False  # keep skin slivers along sloped walls (thicker shells)
    bridges: bool = True  # skin over nothing or over sparse infill: round threads, full fan
    skin_expand_mm: float = Field(3.0, ge=0, le=20)  # skins reach this far into the infill
    seam: SeamPosition = "aligned"
    outer_wall_speed: float = Field(30.0, gt=0, le=1000)
    inner_wall_speed: float = Field(60.0, gt=0, le=1000)
    infill_speed: float = Field(60.0, gt=0, le=1000)
    solid_infill_speed: float = Field(60.0, gt=0, le=1000)
    top_speed: float = Field(30.0, gt=0, le=1000)
    support_speed: float = Field(60.0, gt=0, le=1000)
    bridge_speed: float = Field(40.0, gt=0, le=1000)
    first_layer_speed: float = Field(20.0, gt=0, le=1000)
    travel_speed: float = Field(120.0, gt=0, le=2000)
    retract_length_mm: float = Field(0.8, ge=0, le=15)
    retract_speed: float = Field(35.0, gt=0, le=200)
    retract_min_travel_mm: float = Field(2.0, ge=0, le=100)
    z_hop_mm: float = Field(0.0, ge=0, le=5)
    combing: bool = True  # no retraction for travel that stays inside a part's walls
    skirt_loops: int = Field(1, ge=0, le=20)
    skirt_distance_mm: float = Field(3.0, ge=0, le=50)
    brim_width_mm: float = Field(0.0, ge=0, le=50)
    supports: bool = False
    support_overhang_deg: float = Field(55.0, ge=0, le=89)  # measured from vertical
    support_density: float = Field(0.15, gt=0.0, le=1.0)
    support_z_gap_layers: int = Field(1, ge=0, le=5)
    support_xy_gap_mm: float = Field(0.6, ge=0, le=5)
    support_interface_layers: int = Field(2, ge=0, le=10)
    support_min_area_mm2: float = Field(1.0, ge=0, le=1000)
    fan_off_layers: int = Field(1, ge=0, le=50)
    slowdown_below_layer_s: float = Field(5.0, ge=0, le=600)
    fan_below_layer_s: float = Field(60.0, ge=0, le=3600)
    min_print_speed: float = Field(10.0, gt=0, le=1000)
    hotend_c: float | None = Field(None, ge=0, le=500)  # None: the material's temperature
    bed_c: float | None = Field(None, ge=0, le=200)

    @field_validator("infill_density", "support_density", mode="before")
    @classmethod
    def _percent(cls, value: Any) -> Any:
        """Accept 0.2, 20, "20" and "20%" for 20 %."""
        if isinstance(value, str):
            text = value.strip()
            if text.endswith("%"):
                return float(text[:-1]) / 100
            value = float(text)
        if isinstance(value, int | float) and value > 1:
            return float(value) / 100
        return value

    @classmethod
    def for_quality(
        cls, quality: str = "standard", material: str = "PLA", **overrides: Any
    ) -> SliceSettings:
        """Preset for `quality`, adjusted for the material family, then `overrides`."""
        if quality not in QUALITIES:
            raise ValueError(f"unknown quality {quality!r}; choose one of {', '.join(QUALITIES)}")
        values: dict[str, Any] = {"quality": quality, **QUALITIES[quality]}
        values.update(material_defaults(material))
        values.update(overrides)
        return cls.model_validate(values)

    def with_overrides(self, overrides: dict[str, str]) -> SliceSettings:
        """A copy with `key=value` strings applied (as from the command line)."""
        unknown = sorted(set(overrides) - set(type(self).model_fields))
        if unknown:
            raise ValueError(
                f"unknown setting {', '.join(unknown)}; known settings: "
                + ", ".join(sorted(type(self).model_fields))
            )
        values = self.model_dump()
        values.update({key: _parse_value(value) for key, value in overrides.items()})
        try:
            return type(self).model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise ValueError(f"bad setting: {problems}") from None


def _parse_value(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in ("none", "null", "default"):
        return None
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    return text.strip()


QUALITIES: dict[str, dict[str, Any]] = {
    "draft": {
        "layer_height_mm": 0.28,
        "first_layer_height_mm": 0.28,
        "top_layers": 3,
        "bottom_layers": 3,
        "infill_density": 0.15,
        "inner_wall_speed": 70.0,
        "infill_speed": 80.0,
        "solid_infill_speed": 70.0,
        "outer_wall_speed": 40.0,
    },
    "standard": {},
    "fine": {
        "layer_height_mm": 0.12,
        "first_layer_height_mm": 0.2,
        "top_layers": 7,
        "bottom_layers": 6,
        "outer_wall_speed": 25.0,
        "inner_wall_speed": 45.0,
        "top_speed": 25.0,
        "slowdown_below_layer_s": 8.0,
    },
}

# What each material family wants beyond the profile's temperatures and fan limits.
_FAMILIES: dict[str, dict[str, Any]] = {
    "PLA": {},
    "PETG": {
        "z_hop_mm": 0.2,
        "fan_off_layers": 3,
        "slowdown_below_layer_s": 10.0,
        "retract_length_mm": 1.0,
        "retract_speed": 30.0,
    },
    "ABS": {"fan_off_layers": 3, "slowdown_below_layer_s": 15.0, "brim_width_mm": 3.0},
    "ASA": {"fan_off_layers": 3, "slowdown_below_layer_s": 15.0, "brim_width_mm": 3.0},
    "PC": {"fan_off_layers": 3, "slowdown_below_layer_s": 15.0, "brim_width_mm": 5.0},
    "PA": {"fan_off_layers": 3, "slowdown_below_layer_s": 15.0, "brim_width_mm": 5.0},
    "TPU": {
        "outer_wall_speed": 15.0,
        "inner_wall_speed": 20.0,
        "infill_speed": 20.0,
        "solid_infill_speed": 20.0,
        "top_speed": 15.0,
        "support_speed": 20.0,
        "first_layer_speed": 12.0,
        "retract_length_mm": 0.0,
        "fan_off_layers": 2,
    },
}
_ALIASES = {
    "NYLON": "PA",
    "PA6": "PA",
    "PA12": "PA",
    "PA-CF": "PA",
    "FLEX": "TPU",
    "PETG-CF": "PETG",
    "PLA+": "PLA",
    "PLA-CF": "PLA",
    "HIPS": "ABS",
}


def material_defaults(material: str) -> dict[str, Any]:
    """Setting adjustments for the material's family (PLA needs none)."""
    key = material.strip().upper()
    key = _ALIASES.get(key, key)
    if key not in _FAMILIES:
        key = next((family for family in _FAMILIES if key.startswith(family)), "PLA")
    return dict(_FAMILIES[key])
