"""Write a plate's ordered layers as G-code for one printer profile.

Travel, retraction (or firmware retraction) with optional Z hop, per-layer fan and speed
from cooling, `;LAYER:` / `;TYPE:` comments, object labels and M73 progress through the
profile's `Dialect`, start and end templates filled by `firmware_profiles.render_template`.
Each path's moves are formatted in one `map` over numpy-computed coordinates and extrusion
values, so there is no Python-level arithmetic per segment.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from firmware_profiles import Profile
from slicing.dialects import Dialect, ObjectLabel
from slicing.settings import SliceSettings
from slicing.toolpaths import LayerPlan, Path, extrusion_area

_ABS_MOVE = "G1 X{:.3f} Y{:.3f} E{:.5f}".format


class GcodeWriter:
    """Accumulates G-code lines; one instance writes one program."""

    def __init__(self, profile: Profile, settings: SliceSettings, dialect: Dialect) -> None:
        self.profile = profile
        self.settings = settings
        self.dialect = dialect
        self.lines: list[str] = []  # lines of the part being written
        self.chunks: list[str] = []  # finished parts of the program, joined
        self.position = np.array([math.nan, math.nan])
        self.z = 0.0
        self.e = 0.0
        self.retracted = False
        self.hopped = False
        self.kind = ""
        self.fan = -1
        radius = profile.machine.filament_diameter_mm / 2
        self.filament_area = math.pi * radius * radius
        self.z_feed = 60 * min(profile.limits.max_feedrate_mm_s.z, 10.0)
        self.travel_feed = 60 * min(settings.travel_speed, profile.limits.max_feedrate_mm_s.x,
                                    profile.limits.max_feedrate_mm_s.y)
        self.retract_feed = 60 * min(settings.retract_speed, profile.limits.max_feedrate_mm_s.e)

    # --- program frame ---------------------------------------------------------------
    def header(self, layer_count: int, labels: list[ObjectLabel]) -> None:
        self.lines += [
            f";FLAVOR:{self.dialect.flavour_name}",
            f";Generated with makerfarm slicing for {self.profile.id}",
            f";LAYER_COUNT:{layer_count}",
            f";SETTINGS: quality={self.settings.quality} layer={self.settings.layer_height_mm}"
            f" perimeters={self.settings.perimeters} infill={self.settings.infill_density:.0%}"
            f" {self.settings.infill_pattern}",
        ]
        self.lines += self.dialect.define_objects(labels)

    def custom(self, text: str) -> None:
        self.lines.append(";TYPE:CUSTOM")
        self.lines += [line for line in text.strip("\n").splitlines()]
        self.kind = "CUSTOM"

    def begin_body(self) -> None:
        self.lines += ["G90", "M83" if self.dialect.relative_e else "M82", "G92 E0"]
        self.e = 0.0

    # --- layers ----------------------------------------------------------------------
    def layer(self, plan: LayerPlan, labels: dict[int, ObjectLabel],
              progress: tuple[float, float] | None, extra: list[str]) -> None:
        self.lines += [";LAYER_CHANGE", f";Z:{plan.print_z:.3f}",
                       f";HEIGHT:{plan.height_mm:.3f}", f";LAYER:{plan.index}"]
        if progress is not None and self.dialect.m73:
            percent, remaining = progress
            self.lines.append(f"M73 P{int(percent)} R{math.ceil(remaining / 60)}")
        self.lines += extra
        if not self.dialect.relative_e:
            self.lines.append("G92 E0")
            self.e = 0.0
        self.z = plan.print_z
        if not np.isnan(self.position[0]) and not self.retracted:
            self._retract()  # with Z hop, this lifts to the new layer's z plus the hop
        if not self.hopped:
            self.lines.append(f"G1 Z{self.z:.3f} F{self.z_feed:.0f}")
        self._set_fan(plan.fan_percent)
        self.kind = ""
        factor = plan.speed_factor
        for path in plan.before_objects:
            self._path(path, plan.height_mm, factor)
        for obj in plan.objects:
            if not obj.paths:
                continue
            label = labels[obj.part_index]
            self._travel_to(obj.paths[0].start)
            self.lines.append(self.dialect.start_object(label))
            for path in obj.paths:
                self._path(path, plan.height_mm, factor)
            self.lines.append(self.dialect.end_object(label))
            self.kind = ""
        self.flush()

    def _set_fan(self, percent: int) -> None:
        if percent == self.fan:
            return
        self.fan = percent
        if percent <= 0:
            self.lines.append("M107")
        else:
            self.lines.append(f"M106 S{round(255 * percent / 100)}")

    # --- moves -----------------------------------------------------------------------
    def _path(self, path: Path, height: float, factor: float) -> None:
        self._travel_to(path.start)
        if self.retracted:
            self._unretract()
        if path.kind != self.kind:
            self.lines.append(f";TYPE:{path.kind}")
            self.kind = path.kind
        speed = max(path.speed_mm_s * factor, min(path.speed_mm_s, self.settings.min_print_speed))
        self.lines.append(f"G1 F{60 * speed:.0f}")
        points = np.vstack([path.points, path.points[:1]]) if path.closed else path.points
        steps = np.hypot(*np.diff(points, axis=0).T)
        flow = extrusion_area(path.width_mm, height) / self.filament_area
        amounts = steps * flow
        if self.dialect.relative_e:
            values = amounts
        else:
            values = self.e + np.cumsum(amounts)
            self.e = float(values[-1]) if len(values) else self.e
        targets = points[1:]
        self.lines.extend(map(_ABS_MOVE, targets[:, 0].tolist(), targets[:, 1].tolist(),
                              values.tolist()))
        self.position = points[-1]

    def _travel_to(self, target: np.ndarray) -> None:
        if np.all(np.abs(self.position - target) < 1e-4):
            return
        distance = float(np.hypot(*(target - self.position))) if not np.isnan(
            self.position[0]) else math.inf
        if distance > self.settings.retract_min_travel_mm and not self.retracted:
            self._retract()
        self.lines.append(f"G0 X{target[0]:.3f} Y{target[1]:.3f} F{self.travel_feed:.0f}")
        self.position = np.asarray(target, dtype=np.float64)

    def _retract(self) -> None:
        settings = self.settings
        if self.dialect.firmware_retraction:
            self.lines.append("G10")
        elif settings.retract_length_mm > 0:
            self._e_move(-settings.retract_length_mm)
        else:
            return
        self.retracted = True
        if settings.z_hop_mm > 0:
            self.lines.append(f"G1 Z{self.z + settings.z_hop_mm:.3f} F{self.z_feed:.0f}")
            self.hopped = True

    def _unretract(self) -> None:
        if self.hopped:
            self.lines.append(f"G1 Z{self.z:.3f} F{self.z_feed:.0f}")
            self.hopped = False
        if self.dialect.firmware_retraction:
            self.lines.append("G11")
        else:
            self._e_move(self.settings.retract_length_mm)
        self.retracted = False

    def _e_move(self, amount: float) -> None:
        if self.dialect.relative_e:
            self.lines.append(f"G1 E{amount:.5f} F{self.retract_feed:.0f}")
        else:
            self.e += amount
            self.lines.append(f"G1 E{self.e:.5f} F{self.retract_feed:.0f}")

    def finish(self, end_template: str) -> None:
        if not self.retracted:
            self._retract()
        self._set_fan(0)
        self.custom(end_template)

    def flush(self) -> None:
        """Join the lines written so far into one chunk (keeps memory low on big plates)."""
        if self.lines:
            self.chunks.append("\n".join(self.lines) + "\n")
            self.lines = []

    def text(self) -> str:
        self.flush()
        return "".join(self.chunks)


ProgressFn = Callable[[float], None]
