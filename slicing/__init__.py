"""slicing: customers' meshes to printable G-code for one printer profile.

    from slicing import load_mesh, PlatePart, SliceSettings, slice_plate

    mesh = load_mesh(data, "stl")                   # checked, repaired, on z = 0
    settings = SliceSettings.for_quality("standard", material="PLA")
    result = slice_plate([PlatePart(mesh, 110, 110, 0, "bracket", "p1")], profile,
                         material="PLA", settings=settings)
    result.gcode, result.stats.print_seconds, result.stats.filament_g

    estimate_part(mesh, profile, "PLA")            # (print_seconds, filament_g), one part
    fits_bed(mesh, profile)                         # at some rotation about Z

A pure library: no clock, network or database. Entry points take and return plain,
picklable data so the controller can run them in worker processes.

Where things are: intake in mesh_io (reading), mesh_repair and mesh (checks, repairs,
placement); cross-sections in layers and cutting; one part's geometry per layer in planner,
which uses perimeters, skins, infill, supports and skirt; the plate's print order in
ordering, combing and cooling; G-code in dialects and gcode_writer; plates in plate, layout
and estimate; the command in cli with arrange.
"""

from slicing.errors import MeshRejected, PlateRejected, SlicingError
from slicing.estimate import estimate_part
from slicing.mesh import MeshLimits, PreparedMesh, fits_bed, load_mesh, prepare_mesh
from slicing.plate import PlatePart, SliceResult, slice_plate
from slicing.settings import SliceSettings

__all__ = [
    "MeshLimits",
    "MeshRejected",
    "PlatePart",
    "PlateRejected",
    "PreparedMesh",
    "SliceResult",
    "SliceSettings",
    "SlicingError",
    "estimate_part",
    "fits_bed",
    "load_mesh",
    "prepare_mesh",
    "slice_plate",
]
