"""What differs between firmwares when writing G-code: labels, retraction, temperatures.

One `Dialect` per profile, built from its flavour and capabilities: object labels (M486 on
Marlin, Prusa and RepRapFirmware; EXCLUDE_OBJECT on Klipper; comments elsewhere), firmware
retraction (G10/G11), relative or absolute E, M73 progress, and how a hotend temperature is
set (RepRapFirmware: G10 P0 S R).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from firmware_profiles.model import Flavour, ObjectCancel, Profile

_FLAVOUR_NAMES = {
    Flavour.MARLIN: "Marlin",
    Flavour.MARLIN2: "Marlin2",
    Flavour.PRUSA_BUDDY: "Marlin2",
    Flavour.KLIPPER: "Klipper",
    Flavour.REPRAPFIRMWARE: "RepRap",
    Flavour.BAMBU: "Marlin2",
}


@dataclass(frozen=True)
class ObjectLabel:
    index: int
    name: str
    centre: tuple[float, float]
    polygon: np.ndarray


@dataclass(frozen=True)
class Dialect:
    flavour: Flavour
    object_cancel: ObjectCancel
    firmware_retraction: bool
    relative_e: bool
    m73: bool

    @classmethod
    def for_profile(cls, profile: Profile) -> Dialect:
        caps = profile.capabilities
        return cls(
            flavour=profile.flavour,
            object_cancel=caps.object_cancel,
            firmware_retraction=caps.firmware_retraction,
            relative_e=caps.relative_extrusion,
            m73=caps.m73_progress,
        )

    @property
    def flavour_name(self) -> str:
        return _FLAVOUR_NAMES.get(self.flavour, "Marlin2")

    def define_objects(self, labels: list[ObjectLabel]) -> list[str]:
        if self.object_cancel == ObjectCancel.EXCLUDE_OBJECT:
            lines = []
            for label in labels:
                polygon = ",".join(f"[{x:.3f},{y:.3f}]" for x, y in label.polygon)
                lines.append(
                    f"EXCLUDE_OBJECT_DEFINE NAME={klipper_name(label.name)} "
                    f"CENTER={label.centre[0]:.3f},{label.centre[1]:.3f} POLYGON=[{polygon}]"
                )
            return lines
        if self.object_cancel == ObjectCancel.M486:
            lines = [f"M486 T{len(labels)}"]
            lines += [f'M486 S{label.index} A"{quoted(label.name)}"' for label in labels]
            lines.append("M486 S-1")
            return lines
        return [f"; object {label.index}: {label.name}" for label in labels]

    def object_name(self, label: ObjectLabel) -> str:
        """The object's name as the program writes it (what a cancel command names)."""
        if self.object_cancel == ObjectCancel.EXCLUDE_OBJECT:
            return klipper_name(label.name)
        if self.object_cancel == ObjectCancel.M486:
            return quoted(label.name)
        return label.name

    def start_object(self, label: ObjectLabel) -> str:
        if self.object_cancel == ObjectCancel.EXCLUDE_OBJECT:
            return f"EXCLUDE_OBJECT_START NAME={klipper_name(label.name)}"
        if self.object_cancel == ObjectCancel.M486:
            return f"M486 S{label.index}"
        return f"; printing object {label.name}"

    def end_object(self, label: ObjectLabel) -> str:
        if self.object_cancel == ObjectCancel.EXCLUDE_OBJECT:
            return f"EXCLUDE_OBJECT_END NAME={klipper_name(label.name)}"
        if self.object_cancel == ObjectCancel.M486:
            return "M486 S-1"
        return f"; stop printing object {label.name}"

    def hotend_temperature(self, celsius: float) -> str:
        if self.flavour == Flavour.REPRAPFIRMWARE:
            return f"G10 P0 S{celsius:g} R{celsius:g}"
        return f"M104 S{celsius:g}"


def klipper_name(name: str) -> str:
    """Object names Klipper accepts in EXCLUDE_OBJECT commands (no spaces or quotes)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")
    return cleaned or "object"


def quoted(name: str) -> str:
    return re.sub(r'["\n\r;]', "_", name)
