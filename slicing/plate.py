"""Slice one build plate: several placed parts into one G-code program for one printer.

`slice_plate(parts, profile, material, settings)` is the entry point the controller runs in
a worker process. It checks the layout (on the bed, under the gantry height, no part
overlapping another), plans each part's layers, orders the plate's travel layer by layer,
applies cooling, writes the G-code in the profile's dialect with every part as its own
labelled object, and has the G-code interpreter check it and estimate time and filament.
A program that fails the interpreter's safety check is never returned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import manifold3d
import numpy as np

from firmware_profiles import Material, Profile, render_template, template_values
from firmware_profiles.gcode import ProgramStats
from slicing.cooling import apply_cooling
from slicing.dialects import Dialect, ObjectLabel
from slicing.errors import PlateRejected
from slicing.gcode_writer import GcodeWriter
from slicing.layers import LayerTable, layer_table, part_layer_count
from slicing.layout import check_layout
from slicing.mesh import PreparedMesh, rotated
from slicing.ordering import LayerOrderer
from slicing.planner import PartPlan, plan_part
from slicing.settings import SliceSettings
from slicing.skirt import skirt_loops, trim_brims
from slicing.toolpaths import SKIRT, LayerPlan, Path

ProgressFn = Callable[[float], None]


@dataclass(frozen=True)
class PlatePart:
    """One part on the plate: the mesh origin (its X/Y centre) lands at (x_mm, y_mm)."""

    mesh: PreparedMesh
    x_mm: float
    y_mm: float
    rotation_deg: float = 0.0
    label: str = ""
    part_id: str = ""

    @property
    def name(self) -> str:
        return self.label or self.part_id or self.mesh.name

    def placed_vertices(self) -> np.ndarray:
        moved = rotated(self.mesh.vertices.astype(np.float64), self.rotation_deg)
        moved[:, 0] += self.x_mm
        moved[:, 1] += self.y_mm
        return moved

    def placed_hull(self) -> np.ndarray:
        hull = rotated(self.mesh.hull_xy, self.rotation_deg)
        return hull + np.array([self.x_mm, self.y_mm])


@dataclass
class SliceResult:
    """The program and what the interpreter says about it."""

    gcode: str
    stats: ProgramStats
    layers: int
    warnings: list[str] = field(default_factory=list)
    # Object names as the program writes them (M486 A"...", EXCLUDE_OBJECT NAME=...), in
    # object-index order: what a cancel command names.
    objects: list[str] = field(default_factory=list)

    @property
    def print_seconds(self) -> float:
        return float(self.stats.print_seconds)

    @property
    def filament_g(self) -> float:
        return float(self.stats.filament_g or 0.0)


@dataclass
class Program:
    """G-code before analysis."""

    gcode: str
    layers: int
    warnings: list[str]
    objects: list[str]


def slice_plate(
    parts: list[PlatePart],
    profile: Profile,
    material: str = "PLA",
    settings: SliceSettings | None = None,
    progress: ProgressFn | None = None,
) -> SliceResult:
    """Slice the plate and check the program; raises PlateRejected for a bad layout."""
    from firmware_profiles.gcode import Severity, analyze_and_check

    settings = settings or SliceSettings.for_quality("standard", material=material)
    program = build_program(parts, profile, material, settings, progress)
    stats, violations = analyze_and_check(program.gcode, profile, material)
    errors = [v for v in violations if v.severity == Severity.ERROR]
    if errors:
        listed = "; ".join(v.reason for v in errors[:5])
        raise PlateRejected(
            "unsafe_gcode",
            f"the sliced program fails the safety check of {profile.id} "
            f"({len(errors)} errors): {listed}",
        )
    warnings = list(program.warnings)
    warnings += [v.reason for v in violations]
    gcode = program.gcode + _summary(stats)
    if progress:
        progress(1.0)
    return SliceResult(
        gcode=gcode, stats=stats, layers=program.layers, warnings=warnings, objects=program.objects
    )


def _summary(stats: ProgramStats) -> str:
    seconds = round(float(stats.print_seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return (
        f"; filament used [mm] = {float(stats.filament_mm):.2f}\n"
        f"; filament used [g] = {stats.filament_g or 0.0:.2f}\n"
        f"; estimated printing time (normal mode) = {hours}h {minutes}m {secs}s\n"
    )


def build_program(
    parts: list[PlatePart],
    profile: Profile,
    material: str,
    settings: SliceSettings,
    progress: ProgressFn | None = None,
    templates: bool = True,
    plans: list[PartPlan] | None = None,
) -> Program:
    """Plan, order and write the plate's G-code (no analysis).

    `plans` skips the planning with the parts' plans already made (placed as `parts` are).
    """
    chosen = profile.material(material)
    check_layout(parts, profile)
    _check_temperatures(settings, chosen, material)
    _check_nozzle(settings, profile.machine.nozzle_diameter_mm)
    report = progress or (lambda _fraction: None)
    report(0.0)
    table = layer_table(
        max(p.mesh.height_mm for p in parts),
        settings.first_layer_height_mm,
        settings.layer_height_mm,
    )
    if plans is None:
        plans = _plan_parts(parts, table, settings, profile.machine.nozzle_diameter_mm, report)
    if settings.brim_width_mm > 0:
        brims = trim_brims(
            [p.body for p in plans],
            [p.layers[0].brim for p in plans],
            settings.first_layer_line_width_mm,
        )
        for plan, brim in zip(plans, brims, strict=True):
            plan.layers[0].brim = brim
    warnings = [
        f"{parts[i].name}: layers {plan.empty_layers[:5]} have area but are too thin to print"
        for i, plan in enumerate(plans)
        if plan.empty_layers
    ]
    count = max(len(plan.layers) for plan in plans)
    layers, skirt_warnings = _order_layers(plans, table, count, settings, profile)
    warnings += skirt_warnings
    apply_cooling(layers, settings, chosen)
    report(0.85)
    dialect = Dialect.for_profile(profile)
    labels = _labels(parts, dialect)
    writer = GcodeWriter(profile, settings, dialect)
    writer.bridge_fan = chosen.fan_max_percent
    writer.header(len(layers), list(labels.values()))
    values = template_values(profile, material, print_bounds=_print_bounds(plans, profile))
    if settings.hotend_c is not None:
        values["hotend_c"] = values["first_layer_hotend_c"] = settings.hotend_c
    if settings.bed_c is not None:
        values["bed_c"] = values["first_layer_bed_c"] = settings.bed_c
    if templates:
        writer.custom(render_template(profile.gcode.start, values))
    writer.begin_body()
    _write_layers(writer, layers, labels, values)
    writer.finish(render_template(profile.gcode.end, values) if templates else "")
    report(0.95)
    return Program(
        gcode=writer.text(),
        layers=len(layers),
        warnings=warnings,
        objects=[dialect.object_name(label) for label in labels.values()],
    )


def _plan_parts(
    parts: list[PlatePart],
    table: LayerTable,
    settings: SliceSettings,
    nozzle_mm: float,
    report: ProgressFn,
) -> list[PartPlan]:
    """Plan every part; progress runs to 0.8, shared by triangle count."""
    total = sum(p.mesh.triangles for p in parts) or 1
    done = 0
    plans = []
    for part in parts:
        count = part_layer_count(part.mesh.height_mm, table)
        share = part.mesh.triangles / total

        def part_progress(
            fraction: float, before: float = done / total, share: float = share
        ) -> None:
            report(0.8 * (before + share * fraction))

        plans.append(
            plan_part(
                part.placed_vertices(),
                part.mesh.faces,
                table,
                count,
                settings,
                nozzle_mm,
                part_progress,
            )
        )
        done += part.mesh.triangles
        report(0.8 * done / total)
    return plans


def _order_layers(
    plans: list[PartPlan], table: LayerTable, count: int, settings: SliceSettings, profile: Profile
) -> tuple[list[LayerPlan], list[str]]:
    orderer = LayerOrderer(settings, profile.machine.nozzle_diameter_mm)
    position = np.array(profile.machine.bed_bounds()[:2], dtype=np.float64)
    layers = []
    warnings: list[str] = []
    for index in range(count):
        plan = LayerPlan(
            index=index, print_z=float(table.print_z[index]), height_mm=float(table.height[index])
        )
        if index == 0:
            footprint = manifold3d.CrossSection.compose([p.first_layer for p in plans])
            loops, warnings = skirt_loops(
                footprint,
                settings.skirt_distance_mm,
                settings.skirt_loops,
                settings.first_layer_line_width_mm,
                plan.height_mm,
                profile.machine.bed_bounds(),
                profile.machine.bed_shape == "circle",
            )
            for loop in reversed(loops):  # outermost first, towards the parts
                plan.before_objects.append(
                    Path(
                        SKIRT,
                        _nearest_start(loop, position),
                        True,
                        settings.first_layer_line_width_mm,
                        settings.first_layer_speed,
                    )
                )
                position = plan.before_objects[-1].start
        work = [(i, p.layers[index]) for i, p in enumerate(plans) if index < len(p.layers)]
        plan.objects, position = orderer.order(work, index, position)
        layers.append(plan)
    return layers, warnings


def _write_layers(
    writer: GcodeWriter,
    layers: list[LayerPlan],
    labels: dict[int, ObjectLabel],
    values: dict[str, object],
) -> None:
    total = sum(layer.estimated_seconds for layer in layers) or 1.0
    elapsed = 0.0
    for layer in layers:
        extra = []
        if layer.index == 1:
            first_hotend, hotend = values["first_layer_hotend_c"], values["hotend_c"]
            if first_hotend != hotend:
                extra.append(writer.dialect.hotend_temperature(float(hotend)))  # type: ignore[arg-type]
            if values["first_layer_bed_c"] != values["bed_c"]:
                extra.append(f"M140 S{float(values['bed_c']):g}")  # type: ignore[arg-type]
        writer.layer(layer, labels, (100 * elapsed / total, total - elapsed), extra)
        elapsed += layer.estimated_seconds


def _labels(parts: list[PlatePart], dialect: Dialect) -> dict[int, ObjectLabel]:
    """One label per part; names made unique as the firmware will read them."""
    labels = {}
    seen: set[str] = set()
    for index, part in enumerate(parts):
        name = part.name
        written = dialect.object_name(ObjectLabel(index, name, (0.0, 0.0), np.zeros((0, 2))))
        if written.lower() in seen:
            name = f"{name}_{index}"
            written = dialect.object_name(ObjectLabel(index, name, (0.0, 0.0), np.zeros((0, 2))))
        seen.add(written.lower())
        hull = part.placed_hull()
        centre = (float(part.x_mm), float(part.y_mm))
        labels[index] = ObjectLabel(index=index, name=name, centre=centre, polygon=hull)
    return labels


def _print_bounds(plans: list[PartPlan], profile: Profile) -> tuple[float, float, float, float]:
    footprint = manifold3d.CrossSection.compose([p.first_layer for p in plans])
    if footprint.is_empty():
        return profile.machine.bed_bounds()
    low_x, low_y, high_x, high_y = footprint.bounds()
    return (float(low_x), float(low_y), float(high_x), float(high_y))


def _nearest_start(loop: np.ndarray, position: np.ndarray) -> np.ndarray:
    k = int(np.argmin(np.hypot(*(loop - position).T)))
    return np.roll(loop, -k, axis=0)


def _check_nozzle(settings: SliceSettings, nozzle_mm: float) -> None:
    """Layer heights and line widths the printer's nozzle can actually lay down."""
    for name in ("layer_height_mm", "first_layer_height_mm"):
        value = getattr(settings, name)
        if value > 0.8 * nozzle_mm:
            raise PlateRejected(
                "bad_settings",
                f"{name} {value:g} mm is more than 80 % of the {nozzle_mm:g} mm nozzle; "
                f"use at most {0.8 * nozzle_mm:.2f} mm",
            )
    for name in ("line_width_mm", "first_layer_line_width_mm", "top_line_width_mm"):
        value = getattr(settings, name)
        if not 0.6 * nozzle_mm <= value <= 2.0 * nozzle_mm:
            raise PlateRejected(
                "bad_settings",
                f"{name} {value:g} mm does not suit the {nozzle_mm:g} mm nozzle; use "
                f"{0.6 * nozzle_mm:.2f} to {2.0 * nozzle_mm:.2f} mm",
            )


def _check_temperatures(settings: SliceSettings, material: Material, name: str) -> None:
    if settings.hotend_c is not None and not (
        material.hotend_min_c <= settings.hotend_c <= material.hotend_max_c
    ):
        raise PlateRejected(
            "bad_temperature",
            f"hotend {settings.hotend_c:g} °C is outside {name}'s range on this printer "
            f"({material.hotend_min_c:g}..{material.hotend_max_c:g} °C)",
        )
    if settings.bed_c is not None and not (
        material.bed_min_c <= settings.bed_c <= material.bed_max_c
    ):
        raise PlateRejected(
            "bad_temperature",
            f"bed {settings.bed_c:g} °C is outside {name}'s range on this printer "
            f"({material.bed_min_c:g}..{material.bed_max_c:g} °C)",
        )
