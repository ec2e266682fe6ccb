"""Time and filament of one part alone, for the scheduler's estimates at job intake.

`estimate_part` slices the part without the plate's skirt and start/end templates and asks
the G-code interpreter, so the figure is the one the plate's program will show for it. Intake
asks for the same mesh on several printers: the part's plan (cutting, walls, skins, infill,
supports, the bulk of the work) depends only on the mesh, the settings and the nozzle, so
the last plans are kept and only ordering, writing and the interpreter run per printer.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np

from firmware_profiles import Profile
from slicing.layers import layer_table, part_layer_count
from slicing.mesh import PreparedMesh
from slicing.planner import Island, PartLayer, PartPlan, plan_part
from slicing.plate import PlatePart, build_program
from slicing.settings import SliceSettings

_PLANS: OrderedDict[tuple[str, str, float], PartPlan] = OrderedDict()
_KEEP = 1  # plans kept per worker process: intake asks for one mesh on every printer


def estimate_part(
    mesh: PreparedMesh,
    profile: Profile,
    material: str = "PLA",
    settings: SliceSettings | None = None,
) -> tuple[float, float]:
    """(print_seconds, filament_g) of one part alone, without the plate's start and end."""
    from firmware_profiles.gcode import analyze

    settings = settings or SliceSettings.for_quality("standard", material=material)
    settings = settings.model_copy(update={"skirt_loops": 0})
    low_x, low_y, high_x, high_y = profile.machine.bed_bounds()
    centre = ((low_x + high_x) / 2, (low_y + high_y) / 2)
    part = PlatePart(mesh, centre[0], centre[1], 0.0, mesh.name)
    plan = shifted(_plan_at_origin(mesh, settings, profile.machine.nozzle_diameter_mm), *centre)
    program = build_program([part], profile, material, settings, templates=False, plans=[plan])
    stats = analyze(program.gcode, profile, material=material)
    grams = stats.filament_g
    if grams is None:  # the interpreter always has the material's density here
        grams = stats.filament_volume_mm3 * profile.material(material).density_g_cm3 / 1000
    return float(stats.print_seconds), float(grams)


def _plan_at_origin(mesh: PreparedMesh, settings: SliceSettings, nozzle_mm: float) -> PartPlan:
    key = (_fingerprint(mesh), settings.model_dump_json(), nozzle_mm)
    if key in _PLANS:
        _PLANS.move_to_end(key)
        return _PLANS[key]
    table = layer_table(mesh.height_mm, settings.first_layer_height_mm, settings.layer_height_mm)
    count = part_layer_count(mesh.height_mm, table)
    plan = plan_part(
        mesh.vertices.astype(np.float64), mesh.faces, table, count, settings, nozzle_mm
    )
    _PLANS[key] = plan
    while len(_PLANS) > _KEEP:
        _PLANS.popitem(last=False)
    return plan


def _fingerprint(mesh: PreparedMesh) -> str:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.ascontiguousarray(mesh.vertices).tobytes())
    digest.update(np.ascontiguousarray(mesh.faces).tobytes())
    return digest.hexdigest()


def shifted(plan: PartPlan, dx: float, dy: float) -> PartPlan:
    """A copy of `plan` moved by (dx, dy) on the bed."""
    offset = np.array([dx, dy])
    return PartPlan(
        layers=[_shifted_layer(layer, offset) for layer in plan.layers],
        first_layer=plan.first_layer.translate([dx, dy]),
        body=plan.body.translate([dx, dy]),
        empty_layers=list(plan.empty_layers),
    )


def _shifted_layer(layer: PartLayer, offset: np.ndarray) -> PartLayer:
    def move(lines: list[np.ndarray]) -> list[np.ndarray]:
        return [line + offset for line in lines]

    islands = [
        Island(
            walls=[move(loops) for loops in island.walls],
            thin=move(island.thin),
            bbox=island.bbox + np.concatenate([offset, offset]),
            fills={kind: move(lines) for kind, lines in island.fills.items()},
        )
        for island in layer.islands
    ]
    return PartLayer(
        islands=islands,
        supports={kind: move(lines) for kind, lines in layer.supports.items()},
        brim=move(layer.brim),
    )
