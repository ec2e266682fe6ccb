"""The farm `makerfarm sim` builds, and the figures it reports.

`sim_farm(sites, printers_per_site)` lays out N makerspaces around Berlin (inside the
scheduler's shipping radius of the demo's ship-to addresses) with M printers each, taking
the demo's mix of profiles, materials and colours in turn. `roster()` is the same printers
for the swarm (`makerfarm swarm --roster`). `JobFigures` turns the shops' submit times and
the job statuses they saw into latency percentiles and throughput.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from controller.demo_farm import PRINTERS
from controller.farm_file import FarmFile, PrinterEntry, SiteEntry
from protocol.messages.jobs import JobStatus
from protocol.states import JobState

CENTRE = (52.48, 13.35)  # the demo's ship-to addresses are around here
RADIUS_DEG = 0.12  # about 13 km


def site_id(site: int) -> str:
    return f"site-{site + 1:03d}"


def printer_id(site: int, printer: int) -> str:
    return f"s{site + 1:03d}-p{printer + 1:04d}"


def sim_farm(sites: int, printers_per_site: int) -> FarmFile:
    site_entries = []
    for s in range(sites):
        angle = 2 * math.pi * s / max(1, sites)
        site_entries.append(
            SiteEntry(
                id=site_id(s),
                name=f"Simulated makerspace {s + 1}",
                tz="Europe/Berlin",
                lat=round(CENTRE[0] + RADIUS_DEG * math.sin(angle) * 0.6, 4),
                lon=round(CENTRE[1] + RADIUS_DEG * math.cos(angle), 4),
            )
        )
    printers = []
    for s in range(sites):
        for p in range(printers_per_site):
            _pid, _site, profile, material, colour = PRINTERS[
                (s * printers_per_site + p) % len(PRINTERS)
            ]
            printers.append(
                PrinterEntry(
                    id=printer_id(s, p),
                    site=site_id(s),
                    profile=profile,
                    material=material,
                    colour=colour,
                )
            )
    return FarmFile(sites=site_entries, printers=printers)


def farm_toml(farm: FarmFile) -> str:
    lines = []
    for site in farm.sites:
        lines += [
            "[[sites]]",
            f'id = "{site.id}"',
            f'name = "{site.name}"',
            f"lat = {site.lat}",
            f"lon = {site.lon}",
            f'tz = "{site.tz}"',
            "",
        ]
    for printer in farm.printers:
        lines += [
            "[[printers]]",
            f'id = "{printer.id}"',
            f'site = "{printer.site}"',
            f'profile = "{printer.profile}"',
            f'material = "{printer.material}"',
            f'colour = "{printer.colour}"',
            "",
        ]
    return "\n".join(lines)


def roster(farm: FarmFile) -> list[dict[str, str]]:
    return [{"site": p.site, "printer": p.id, "profile": p.profile} for p in farm.printers]


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class JobFigures:
    """Latencies (seconds) from each job's submit to the statuses its shop saw."""

    to_accepted: list[float]
    to_first_part_printing: list[float]
    to_done: list[float]

    @classmethod
    def from_history(
        cls,
        submitted_at: dict[str, float],
        history: dict[str, list[JobStatus]],
        arrived_at: dict[str, list[float]],
    ) -> JobFigures:
        figures = cls([], [], [])
        for ref, submitted in submitted_at.items():
            seen = list(zip(history.get(ref, []), arrived_at.get(ref, []), strict=False))
            figures._first(
                figures.to_accepted, seen, submitted, lambda s: s.state is not JobState.RECEIVED
            )
            figures._first(
                figures.to_first_part_printing,
                seen,
                submitted,
                lambda s: s.parts.printing + s.parts.printed > 0,
            )
            figures._first(figures.to_done, seen, submitted, lambda s: s.state is JobState.DONE)
        return figures

    @staticmethod
    def _first(
        into: list[float],
        seen: list[tuple[JobStatus, float]],
        submitted: float,
        condition: Callable[[JobStatus], bool],
    ) -> None:
        for status, at in seen:
            if condition(status):
                into.append(at - submitted)
                return

    def table(self) -> dict[str, dict[str, float | int | None]]:
        out: dict[str, dict[str, float | int | None]] = {}
        for name, values in (
            ("submit_to_accepted_s", self.to_accepted),
            ("submit_to_first_part_printing_s", self.to_first_part_printing),
            ("submit_to_done_s", self.to_done),
        ):
            out[name] = {
                "n": len(values),
                "p50": _round(percentile(values, 0.5)),
                "p99": _round(percentile(values, 0.99)),
                "max": _round(max(values) if values else None),
            }
        return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
