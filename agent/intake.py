"""Receiving a plate: from a `cmd.run_plate` and its G-code blob to a plate the printer
may run, or a refusal that says why.

Checks, in order: the plate was sliced for this printer's profile and a material the
profile runs; the blob arrived and hashes to the sha256 the command names; it
decompresses to exactly the declared size (and no more than this agent accepts); it is
G-code text; and the profile's safety check finds no errors for the plate's material
(read from the spool file a piece at a time, so memory does not grow with the plate).
Every object the command names must be labelled in the program, so one part can be
cancelled alone. No program reaches the printer without passing all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.backends.base import PlateToRun
from agent.spool import Spool, SpoolError
from firmware_profiles import Profile
from protocol import RunPlate

MAX_VIOLATIONS_SHOWN = 5


class PlateRefused(Exception):
    """The plate must not run; `str()` is the reason for the plate_rejected event."""


@dataclass(frozen=True)
class AcceptedPlate:
    program: Path
    plate: PlateToRun
    parts: dict[str, str]  # part id -> object label


class PlateIntake:
    def __init__(self, spool: Spool, profile: Profile, max_plate_bytes: int) -> None:
        self._spool = spool
        self._profile = profile
        self._max_plate_bytes = max_plate_bytes

    def accept(self, command: RunPlate) -> AcceptedPlate:
        """Verify the plate; PlateRefused with the reason when it must not run."""
        self._check_printer_fit(command)
        try:
            program = self._spool.unpack(
                command.gcode_sha256, command.gcode_bytes, self._max_plate_bytes
            )
        except SpoolError as error:
            raise PlateRefused(str(error)) from error
        # The interpreter (~1 MB of modules) is loaded when the first plate arrives, not
        # by every agent at start-up.
        from firmware_profiles.gcode import Severity, UnreadableProgram, analyze_and_check

        try:
            # From the file a piece at a time: a plate of any size is checked in a few MB.
            # The pure-Python planner: the estimate is the same, and numpy (where it is
            # installed at all) would cost the agent more memory than the whole check.
            stats, violations = analyze_and_check(
                program, self._profile, command.material, planner="python"
            )
        except UnreadableProgram as error:
            reason = str(error).removeprefix(f"{program}: ")
            raise PlateRefused(f"the G-code cannot be read: {reason}") from error
        errors = [v for v in violations if v.severity is Severity.ERROR]
        if errors:
            shown = "; ".join(v.reason for v in errors[:MAX_VIOLATIONS_SHOWN])
            more = len(errors) - MAX_VIOLATIONS_SHOWN
            raise PlateRefused(
                f"the G-code fails the safety check of {self._profile.id} for "
                f"{command.material} with {len(errors)} error(s): {shown}"
                + (f"; and {more} more" if more > 0 else "")
            )
        labels = tuple(part.label for part in command.parts)
        missing = [label for label in labels if label not in stats.objects]
        if missing:
            raise PlateRefused(
                "the G-code does not label the object(s) "
                + ", ".join(missing[:10])
                + " (M486 / EXCLUDE_OBJECT), so they could not be cancelled one by one"
            )
        material = self._profile.material(command.material)
        plate = PlateToRun(
            plate_id=command.plate_id,
            sha256=command.gcode_sha256,
            material=command.material,
            objects=labels,
            estimated_seconds=float(stats.print_seconds),
            hotend_c=material.first_layer_hotend_c or material.hotend_c,
            bed_c=material.first_layer_bed_c or material.bed_c,
        )
        return AcceptedPlate(program, plate, {p.part_id: p.label for p in command.parts})

    def _check_printer_fit(self, command: RunPlate) -> None:
        if command.profile_id != self._profile.id:
            raise PlateRefused(
                f"the plate was sliced for {command.profile_id}, but this "
                f"printer is {self._profile.id}"
            )
        try:
            self._profile.material(command.material)
        except KeyError as error:
            raise PlateRefused(str(error.args[0])) from error
        labels = [part.label for part in command.parts]
        if len(set(labels)) != len(labels):
            raise PlateRefused("two parts of the plate share one object label")
