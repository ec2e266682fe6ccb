"""The instance compiled for planning: arrays over parts and printers, times in seconds after `now`.

`compile_farm` is the one place that reads a `PlanInstance`: it interns outlines, groups
parts by material and colour, measures ship-to distances, turns staffed hours into
calendars, and works out which printer may run which part. Everything downstream (planner,
baselines, evaluator) works on this `Farm`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from protocol.messages.jobs import Priority
from protocol.planning import PartSpec, PlanInstance, PrinterSpec
from scheduler.geometry import DIRECTIONS
from scheduler.nesting import Bed, ShapeLibrary
from scheduler.staffing import StaffCalendar

EARTH_RADIUS_KM = 6371.0088
PRIORITY_WEIGHT = {
    Priority.LOW: 0.5,
    Priority.NORMAL: 1.0,
    Priority.HIGH: 2.0,
    Priority.URGENT: 4.0,
}
# Each priority level counts as this many hours earlier in due-date order.
PRIORITY_LEAD_HOURS = {
    Priority.LOW: -12.0,
    Priority.NORMAL: 0.0,
    Priority.HIGH: 12.0,
    Priority.URGENT: 24.0,
}
UNAVAILABLE = ("offline",)


@dataclass
class Farm:
    spec: PlanInstance
    calendars: list[StaffCalendar]
    library: ShapeLibrary
    beds: list[Bed]  # distinct beds
    printer_bed: NDArray[np.int64]  # printer -> bed index
    printer_site: NDArray[np.int64]
    printer_available: NDArray[np.bool_]
    groups: list[tuple[str, str]]  # (material, colour)
    part_group: NDArray[np.int64]
    part_shape: NDArray[np.int64]
    part_seconds: NDArray[np.float64]
    part_due: NDArray[np.float64]  # seconds after now
    part_key: NDArray[np.float64]  # due adjusted by priority: the dispatch order
    part_weight: NDArray[np.float64]
    part_locked: NDArray[np.bool_]
    distance_km: NDArray[np.float64]  # (parts, sites)
    eligible: NDArray[np.bool_]  # (parts, printers): compatible, in range, available

    @property
    def parts(self) -> list[PartSpec]:
        return self.spec.parts

    @property
    def printers(self) -> list[PrinterSpec]:
        return self.spec.printers

    group_index: dict[tuple[str, str], int]

    def group_of_printer_load(self, printer: int) -> int:
        spec = self.printers[printer]
        if spec.loaded_material is None:
            return -1
        return self.group_index.get((spec.loaded_material, spec.loaded_colour or ""), -1)

    def seconds(self, when: datetime) -> float:
        """A UTC moment as seconds after the plan's `now`."""
        return (when - self.spec.now).total_seconds()


def compile_farm(spec: PlanInstance) -> Farm:
    library = ShapeLibrary()
    packing = spec.packing
    site_index = {site.id: i for i, site in enumerate(spec.sites)}
    calendars = [
        StaffCalendar(
            {str(day): hours for day, hours in site.staffed_hours.items()}, site.timezone, spec.now
        )
        for site in spec.sites
    ]
    beds: list[Bed] = []
    printer_bed = []
    for printer in spec.printers:
        depth = printer.bed.depth_mm if printer.bed.shape == "rectangle" else None
        bed = Bed(
            printer.bed.shape,
            printer.bed.width_mm,
            depth or printer.bed.width_mm,
            packing.edge_margin_mm,
            packing.spacing_mm,
            packing.rotation_step_deg,
        )
        if bed not in beds:
            beds.append(bed)
        printer_bed.append(beds.index(bed))
    groups: list[tuple[str, str]] = []
    group_index: dict[tuple[str, str], int] = {}
    part_group = []
    for part in spec.parts:
        key = (part.material, part.colour)
        if key not in group_index:
            group_index[key] = len(groups)
            groups.append(key)
        part_group.append(group_index[key])
    extra = [
        (printer.loaded_material, printer.loaded_colour or "")
        for printer in spec.printers
        if printer.loaded_material is not None
    ]  # loaded spools are groups too (affinity)
    extra += [(plate.material, plate.colour) for plate in spec.locked_plates]
    for key in extra:
        if key not in group_index:
            group_index[key] = len(groups)
            groups.append(key)
    now = spec.now
    farm = Farm(
        spec=spec,
        calendars=calendars,
        library=library,
        beds=beds,
        printer_bed=np.array(printer_bed, dtype=np.int64),
        printer_site=np.array([site_index[p.site] for p in spec.printers], dtype=np.int64),
        printer_available=np.array([_available(p) for p in spec.printers], dtype=bool),
        groups=groups,
        group_index=group_index,
        part_group=np.array(part_group, dtype=np.int64),
        part_shape=np.array(
            [library.intern(np.array(p.footprint)) for p in spec.parts], dtype=np.int64
        ),
        part_seconds=np.array([p.print_seconds for p in spec.parts], dtype=np.float64),
        part_due=np.array([(p.due - now).total_seconds() for p in spec.parts], dtype=np.float64),
        part_key=np.array(
            [
                (p.due - now).total_seconds() - 3600.0 * PRIORITY_LEAD_HOURS[p.priority]
                for p in spec.parts
            ],
            dtype=np.float64,
        ),
        part_weight=np.array([PRIORITY_WEIGHT[p.priority] for p in spec.parts], dtype=np.float64),
        part_locked=np.array([p.locked_plate is not None for p in spec.parts], dtype=bool),
        distance_km=distances_km(spec),
        eligible=np.zeros((0, 0), dtype=bool),
    )
    farm.eligible = compatibility(farm) & in_range(farm) & farm.printer_available[None, :]
    return farm


def _available(printer: PrinterSpec) -> bool:
    if printer.state in UNAVAILABLE:
        return False
    return not (printer.state == "maintenance" and printer.free_at is None)


def distances_km(spec: PlanInstance) -> NDArray[np.float64]:
    """Great-circle distance from every part's ship-to point to every site: (parts, sites)."""
    if not spec.parts:
        return np.zeros((0, len(spec.sites)))
    lat1 = np.radians([p.ship_to.lat for p in spec.parts])[:, None]
    lon1 = np.radians([p.ship_to.lon for p in spec.parts])[:, None]
    lat2 = np.radians([s.lat for s in spec.sites])[None, :]
    lon2 = np.radians([s.lon for s in spec.sites])[None, :]
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    out: NDArray[np.float64] = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return out


def material_ok(farm: Farm) -> NDArray[np.bool_]:
    runs = np.array(
        [
            [material in printer.materials for printer in farm.printers]
            for material, _colour in farm.groups
        ],
        dtype=bool,
    ).reshape(len(farm.groups), len(farm.printers))
    return runs[farm.part_group]


def enclosure_ok(farm: Farm) -> NDArray[np.bool_]:
    needs = np.array([p.needs_enclosure for p in farm.parts], dtype=bool)
    enclosed = np.array([p.enclosed for p in farm.printers], dtype=bool)
    return ~needs[:, None] | enclosed[None, :]


def height_ok(farm: Farm) -> NDArray[np.bool_]:
    heights = np.array([p.height_mm for p in farm.parts])
    limits = np.array([p.max_height_mm for p in farm.printers])
    return heights[:, None] <= limits[None, :] + 1e-9


def bed_ok(farm: Farm) -> NDArray[np.bool_]:
    shapes = np.unique(farm.part_shape)
    fits = np.zeros((len(farm.library.shapes), len(farm.beds)), dtype=bool)
    for b, bed in enumerate(farm.beds):
        for s in shapes:
            fits[s, b] = fits_bed(farm.library, int(s), bed)
    return fits[farm.part_shape][:, farm.printer_bed]


def fits_bed(library: ShapeLibrary, shape: int, bed: Bed) -> bool:
    """Fast exact test for rectangles (extent in each allowed rotation), packer for circles."""
    if bed.shape != "rectangle":
        return library.fits(shape, bed)
    h = library.shapes[shape].h
    steps = np.array(bed.rotation_steps)
    quarter = DIRECTIONS // 4
    width = h[(0 - steps) % DIRECTIONS] + h[(2 * quarter - steps) % DIRECTIONS]
    depth = h[(quarter - steps) % DIRECTIONS] + h[(3 * quarter - steps) % DIRECTIONS]
    room_x = bed.width_mm - 2 * bed.margin_mm + 1e-9
    room_y = bed.depth_mm - 2 * bed.margin_mm + 1e-9
    return bool(((width <= room_x) & (depth <= room_y)).any())


def compatibility(farm: Farm) -> NDArray[np.bool_]:
    if not farm.parts or not farm.printers:
        return np.zeros((len(farm.parts), len(farm.printers)), dtype=bool)
    return material_ok(farm) & enclosure_ok(farm) & height_ok(farm) & bed_ok(farm)


def in_range(farm: Farm) -> NDArray[np.bool_]:
    if not farm.parts or not farm.printers:
        return np.zeros((len(farm.parts), len(farm.printers)), dtype=bool)
    limit = farm.spec.costs.max_ship_km
    return farm.distance_km[:, farm.printer_site] <= limit
