"""Write a plate's ordered layers as G-code for one printer profile.

Travel, retraction (or firmware retraction) with optional Z hop, per-layer fan and speed
from cooling, `;LAYER:` / `;TYPE:` comments, object labels and M73 progress through the
profile's `Dialect`, start and end templates filled by `firmware_profiles.render_template`.
Each path's moves are formatted in one `map` over numpy-computed coordinates and extrusion
values, so there is no Python-level arithmetic per segment.
"""

from __future__ import annotations

import math

import numpy as np

from firmware_profiles import Profile
from slicing.dialects import Dialect, ObjectLabel
from slicing.settings import SliceSettings
from slicing.toolpaths import BRIDGE, LayerPlan, Path, bridge_area, extrusion_area

_ABS_MOVE = "G1 X{:.3f} Y{:.3f} E{:.5f}".format
_DRY_MOVE = "G1 X{:.3f} Y{:.3f}".format


def _link_points(paths: list[Path], counts: np.ndarray) -> np.ndarray | None:
    """Mask of the points reached by a link move (no extrusion), or None when there are none."""
    if not any(path.travel_links for path in paths):
        return None
    local = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    linked = np.repeat([path.travel_links for path in paths], counts)
    return linked & (local >= 2) & (local % 2 == 0)


class GcodeWriter:
    """Accumulates G-code lines; one instance writes one program."""

    def __init__(self, profile: Profile, settings: SliceSettings, dialect: Dialect) -> None:
        self.profile = profile
        self.settings = settings
        self.dialect = dialect
        self.lines: list[str] = []  # lines of the part being written
        self.chunks: list[str] = []  # finished parts of the program, joined
        self.position = (math.nan, math.nan)
        self.z = 0.0
        self.e = 0.0
        self.retracted = False
        self.hopped = False
        self.kind = ""
        self.fan = -1
        self.layer_fan = 0
        self.bridge_fan = 100
        radius = profile.machine.filament_diameter_mm / 2
        self.filament_area = math.pi * radius * radius
        self.z_feed = round(60 * min(profile.limits.max_feedrate_mm_s.z, 10.0))
        self.feed = -1  # the modal feedrate last written (mm/min)
        self.travel_feed = round(
            60
            * min(
                settings.travel_speed,
                profile.limits.max_feedrate_mm_s.x,
                profile.limits.max_feedrate_mm_s.y,
            )
        )
        self.retract_feed = round(
            60 * min(settings.retract_speed, profile.limits.max_feedrate_mm_s.e)
        )

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
        self.feed = -1  # a template may leave any feedrate behind

    def begin_body(self) -> None:
        self.lines += ["G90", "M83" if self.dialect.relative_e else "M82", "G92 E0"]
        self.e = 0.0

    # --- layers ----------------------------------------------------------------------
    def layer(
        self,
        plan: LayerPlan,
        labels: dict[int, ObjectLabel],
        progress: tuple[float, float] | None,
        extra: list[str],
    ) -> None:
        self.lines += [
            ";LAYER_CHANGE",
            f";Z:{plan.print_z:.3f}",
            f";HEIGHT:{plan.height_mm:.3f}",
            f";LAYER:{plan.index}",
        ]
        if progress is not None and self.dialect.m73:
            percent, remaining = progress
            self.lines.append(f"M73 P{int(percent)} R{math.ceil(remaining / 60)}")
        self.lines += extra
        if not self.dialect.relative_e:
            self.lines.append("G92 E0")
            # While retracted the filament sits `retract_length` behind the logical position.
            self.e = (
                self.settings.retract_length_mm
                if (self.retracted and not self.dialect.firmware_retraction)
                else 0.0
            )
        self.z = plan.print_z
        if not math.isnan(self.position[0]) and not self.retracted:
            self._retract()  # with Z hop, this lifts to the new layer's z plus the hop
        if not self.hopped:
            self._z_move(self.z)
        self.layer_fan = plan.fan_percent
        self._set_fan(plan.fan_percent)
        self.kind = ""
        factor = plan.speed_factor
        self._paths(plan.before_objects, plan.height_mm, factor)
        for obj in plan.objects:
            if not obj.paths:
                continue
            label = labels[obj.part_index]
            first = obj.paths[0].start
            self._travel_to(float(first[0]), float(first[1]))
            self.lines.append(self.dialect.start_object(label))
            self._paths(obj.paths, plan.height_mm, factor)
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
    def _paths(self, paths: list[Path], height: float, factor: float) -> None:
        """Write paths in order; coordinates and E values of all of them in one numpy pass."""
        if not paths:
            return
        polylines = [np.vstack([p.points, p.points[:1]]) if p.closed else p.points for p in paths]
        counts = np.array([len(points) for points in polylines])
        firsts = np.cumsum(counts) - counts
        points = np.concatenate(polylines)
        flows = np.array(
            [
                bridge_area(p.width_mm) if p.kind == BRIDGE else extrusion_area(p.width_mm, height)
                for p in paths
            ]
        )
        flows /= self.filament_area
        amounts = np.zeros(len(points))
        amounts[1:] = np.hypot(*np.diff(points, axis=0).T) * np.repeat(flows, counts)[1:]
        amounts[firsts] = 0.0  # the step onto a path's first point is a travel
        dry = _link_points(paths, counts)
        if dry is not None:
            amounts[dry] = 0.0
        values = amounts if self.dialect.relative_e else self.e + np.cumsum(amounts)
        moves = list(map(_ABS_MOVE, points[:, 0].tolist(), points[:, 1].tolist(), values.tolist()))
        if dry is not None:
            for index in np.flatnonzero(dry).tolist():
                moves[index] = _DRY_MOVE(points[index, 0], points[index, 1])
        starts: list[tuple[float, float]] = [(x, y) for x, y in points[firsts].tolist()]
        minimum = self.settings.min_print_speed
        for k, path in enumerate(paths):
            if not self.dialect.relative_e:
                self.e = float(values[firsts[k]])
            self._travel_to(starts[k][0], starts[k][1], combed=path.combed)
            if self.retracted:
                self._unretract()
            if path.kind != self.kind:
                self.lines.append(f";TYPE:{path.kind}")
                self.kind = path.kind
                if self.layer_fan > 0:  # bridges cool at full fan (not where it is off)
                    self._set_fan(self.bridge_fan if path.kind == BRIDGE else self.layer_fan)
            feed = round(60 * max(path.speed_mm_s * factor, min(path.speed_mm_s, minimum)))
            if feed != self.feed:
                self.lines.append(f"G1 F{feed}")
                self.feed = feed
            self.lines.extend(moves[firsts[k] + 1 : firsts[k] + counts[k]])
        if not self.dialect.relative_e:
            self.e = float(values[-1])
        self.position = (float(points[-1, 0]), float(points[-1, 1]))

    def _travel_to(self, x: float, y: float, combed: bool = False) -> None:
        here_x, here_y = self.position
        if abs(x - here_x) < 1e-4 and abs(y - here_y) < 1e-4:
            return
        distance = math.inf if math.isnan(here_x) else math.hypot(x - here_x, y - here_y)
        if distance > self.settings.retract_min_travel_mm and not self.retracted and not combed:
            self._retract()
        self.lines.append(f"G0 X{x:.3f} Y{y:.3f} F{self.travel_feed}")
        self.feed = self.travel_feed
        self.position = (x, y)

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
            self._z_move(self.z + settings.z_hop_mm)
            self.hopped = True

    def _unretract(self) -> None:
        if self.hopped:
            self._z_move(self.z)
            self.hopped = False
        if self.dialect.firmware_retraction:
            self.lines.append("G11")
        else:
            self._e_move(self.settings.retract_length_mm)
        self.retracted = False

    def _z_move(self, z: float) -> None:
        self.lines.append(f"G1 Z{z:.3f} F{self.z_feed}")
        self.feed = self.z_feed

    def _e_move(self, amount: float) -> None:
        """Retract (negative) or restore. `self.e` stays the unretracted extrusion position."""
        self.feed = self.retract_feed
        if self.dialect.relative_e:
            self.lines.append(f"G1 E{amount:.5f} F{self.retract_feed}")
        else:
            target = self.e + min(amount, 0.0)
            self.lines.append(f"G1 E{target:.5f} F{self.retract_feed}")

    def finish(self, end_template: str) -> None:
        if not self.retracted:
            self._retract()
        self._set_fan(0)
        if self.dialect.m73:
            self.lines.append("M73 P100 R0")
        self.custom(end_template)

    def flush(self) -> None:
        """Join the lines written so far into one chunk (keeps memory low on big plates)."""
        if self.lines:
            self.chunks.append("\n".join(self.lines) + "\n")
            self.lines = []

    def text(self) -> str:
        self.flush()
        return "".join(self.chunks)
