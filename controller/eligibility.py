"""Can the farm print this job at all? Which printers could, and what a part costs.

Intake asks this before accepting: a job is accepted only when at least one printer of the
farm runs its material and its mesh fits that printer's bed and height (any rotation about
Z). When none does, the reason names what is missing, so the shop can act on it:
"no printer in the farm runs PA-CF; printers run ABS, PETG, PLA", or "the part is
260.0 x 40.0 x 20.0 mm; the largest bed of a printer that runs PETG is 220 x 220 mm, 250 mm
high".
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from controller.db.tables import Printer
from controller.workers import MeshFacts, profile
from protocol.errors import RejectionCode


@dataclass(frozen=True)
class FleetPrinter:
    printer_id: str
    site_id: str
    profile_id: str
    maintenance: bool


@dataclass(frozen=True)
class Eligibility:
    facts: MeshFacts
    printers: tuple[str, ...]
    # (print seconds, filament grams) of one part, on the first eligible profile
    estimate: tuple[float, float]


def fleet_profiles(session: Session) -> list[FleetPrinter]:
    return [
        FleetPrinter(p.id, p.site_id, p.profile_id, p.maintenance)
        for p in session.exec(select(Printer).order_by(col(Printer.id)))
    ]


def runs_material(profile_id: str, material: str) -> bool:
    return any(name.upper() == material.upper() for name in profile(profile_id).materials)


def judge(
    facts: MeshFacts, printers: list[FleetPrinter], material: str
) -> Eligibility | tuple[RejectionCode, str]:
    able = [p for p in printers if runs_material(p.profile_id, material)]
    if not able:
        known = sorted({name.upper() for p in printers for name in profile(p.profile_id).materials})
        return RejectionCode.MATERIAL_UNAVAILABLE, (
            f"no printer in the farm runs {material}; printers run {', '.join(known)}"
        )
    fitting = [p for p in able if facts.fits.get(p.profile_id)]
    if not fitting:
        return RejectionCode.DOES_NOT_FIT, _does_not_fit(facts, able, material)
    estimates = [
        facts.estimates[(p.profile_id, material)]
        for p in fitting
        if (p.profile_id, material) in facts.estimates
    ]
    estimate = max(estimates) if estimates else (0.0, 0.0)
    return Eligibility(facts, tuple(p.printer_id for p in fitting), estimate)


def _does_not_fit(facts: MeshFacts, able: list[FleetPrinter], material: str) -> str:
    x, y, z = facts.size_mm
    largest = max(
        (profile(p.profile_id).machine for p in able),
        key=lambda m: (m.bed_x_mm * m.bed_y_mm, m.max_z_mm),
    )
    return (
        f"the part is {x:.1f} x {y:.1f} x {z:.1f} mm; the largest bed of a printer that "
        f"runs {material} is {largest.bed_x_mm:g} x {largest.bed_y_mm:g} mm, "
        f"{largest.max_z_mm:g} mm high; scale the part down or split it"
    )
