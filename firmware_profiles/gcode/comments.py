"""The slicer comments the interpreter acts on: layer markers and object labels.

The first layer marker (`;LAYER_CHANGE`, `;LAYER:0`, ...) ends the start sequence: what
was extruded before it (purge and intro lines) is not a layer and not the print's
filament, and from then on every extrusion must be on the bed itself rather than
anywhere in the travel margin. Object labels come from `; printing object NAME`
(PrusaSlicer) and `;MESH:NAME` (Cura).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from firmware_profiles.gcode.stats import LAYER_MARKERS

if TYPE_CHECKING:
    from firmware_profiles.gcode.interpreter import Interpreter

# Comment prefixes worth a call: the interpreter skips every other comment line.
TAGS = (*LAYER_MARKERS, "; printing object ", ";MESH:")


def slicer_comment(run: Interpreter, raw: str) -> None:
    """Act on a comment line that starts with one of `TAGS`."""
    if raw.startswith(LAYER_MARKERS):
        if not run.layers.marker_seen:
            _print_begins(run)
        return
    if raw.startswith("; printing object "):
        name = raw[len("; printing object ") :].strip()
    else:  # ;MESH:
        name = raw[len(";MESH:") :].strip()
        if name == "NONMESH":
            return
    run.add_object(name)


def _print_begins(run: Interpreter) -> None:
    if run.layer_e:
        run.layers.add(run.layer_z, run.layer_e)
    run.layer_e = 0.0
    run.layers.marker()
    run.start_sequence_filament_mm = run.state.e_filament_max
    if run.rules is not None:
        run.extrusion_margin = 0.0
        run.extrusion_bounds = run.rules.bed
