"""A small drawing of a plate: the bed seen from above with each part's outline filled in.

Parts are placed as the plan places them (`protocol.planning`): the footprint is rotated
`rotation_deg` counter-clockwise about the part's origin, then moved by (`x_mm`, `y_mm`)
from the bed's front-left corner. The drawing uses half blocks (two square-ish pixels per
terminal cell, top and bottom), the back of the bed at the top, each part coloured by its
state and marked with its number from the legend.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.text import Text

from protocol.messages.fleet import PlacedPart, PlateSummary
from protocol.states import PartState

BED = "grey23"
PART_COLOURS: dict[PartState, str] = {
    PartState.QUEUED: "grey62",
    PartState.PLANNED: "dodger_blue1",
    PartState.PRINTING: "green3",
    PartState.PRINTED: "spring_green1",
    PartState.FAILED: "red1",
    PartState.CANCELLED: "grey39",
}
MARKS = "123456789abcdefghijklmnopqrstuvwxyz"
MISSING_OUTLINE_MM = 5.0  # a part without an outline is drawn as a square this wide

Polygon = list[tuple[float, float]]


def part_outline(part: PlacedPart) -> Polygon:
    """The part's outline in bed coordinates (mm from the front-left corner)."""
    points = list(part.footprint)
    if len(points) < 3:
        half = MISSING_OUTLINE_MM / 2
        points = [(-half, -half), (half, -half), (half, half), (-half, half)]
    angle = math.radians(part.rotation_deg)
    cos, sin = math.cos(angle), math.sin(angle)
    return [(part.x_mm + x * cos - y * sin, part.y_mm + x * sin + y * cos) for x, y in points]


def _inside(x: float, y: float, polygon: Polygon) -> bool:
    """Even-odd rule: a ray to the right crosses the outline an odd number of times."""
    inside = False
    j = len(polygon) - 1
    for i in range(len(polygon)):
        xi, yi = polygon[i]
        xj, yj = polygon[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def rasterize(plate: PlateSummary, columns: int, rows: int) -> tuple[list[list[int]], float]:
    """Pixels (`columns` wide, 2 x `rows` high) holding a part's index or -1, and mm/pixel.

    The bed keeps its aspect ratio; pixels outside it are -2."""
    scale = max(plate.bed_width_mm / columns, plate.bed_depth_mm / (2 * rows))
    width = min(columns, max(1, math.ceil(plate.bed_width_mm / scale - 1e-9)))
    height = min(2 * rows, max(1, math.ceil(plate.bed_depth_mm / scale - 1e-9)))
    grid = [
        [-1 if c < width and r < height else -2 for c in range(columns)] for r in range(2 * rows)
    ]
    for index, part in enumerate(plate.parts):
        polygon = part_outline(part)
        xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
        c0, c1 = max(0, int(min(xs) / scale)), min(width - 1, int(max(xs) / scale))
        r0 = max(0, int((plate.bed_depth_mm - max(ys)) / scale))
        r1 = min(height - 1, int((plate.bed_depth_mm - min(ys)) / scale))
        for r in range(r0, r1 + 1):
            y = plate.bed_depth_mm - (r + 0.5) * scale
            for c in range(c0, c1 + 1):
                if _inside((c + 0.5) * scale, y, polygon):
                    grid[r][c] = index
    return grid, scale


def _marks(plate: PlateSummary, grid: list[list[int]]) -> dict[tuple[int, int], int]:
    """Where each part's number goes: the cell nearest the middle of its pixels."""
    cells: dict[int, list[tuple[int, int]]] = {}
    for r, line in enumerate(grid):
        for c, index in enumerate(line):
            if index >= 0:
                cells.setdefault(index, []).append((r // 2, c))
    marks: dict[tuple[int, int], int] = {}
    for index, spots in cells.items():
        if index >= len(MARKS):
            continue
        mid_r = sum(r for r, _ in spots) / len(spots)
        mid_c = sum(c for _, c in spots) / len(spots)
        best = min(spots, key=lambda rc: (rc[0] - mid_r) ** 2 + (rc[1] - mid_c) ** 2)
        marks.setdefault(best, index)
    return marks


def _colour(plate: PlateSummary, index: int) -> str | None:
    if index == -2:
        return None
    if index == -1:
        return BED
    return PART_COLOURS[plate.parts[index].state]


def draw_plate(plate: PlateSummary, columns: int = 40, rows: int = 12) -> Text:
    """The bed, `columns` cells wide and `rows` cells high, as styled text."""
    grid, _scale = rasterize(plate, columns, rows)
    marks = _marks(plate, grid)
    text = Text()
    for row in range(rows):
        if row:
            text.append("\n")
        for column in range(columns):
            top = _colour(plate, grid[2 * row][column])
            bottom = _colour(plate, grid[2 * row + 1][column])
            mark = marks.get((row, column))
            if mark is not None:
                background = _colour(plate, mark) or BED
                text.append(MARKS[mark], style=f"bold black on {background}")
            elif top is None and bottom is None:
                text.append(" ")
            elif top == bottom:
                text.append(" ", style=f"on {top}")
            elif top is None:
                text.append("▄", style=f"{bottom}")
            elif bottom is None:
                text.append("▀", style=f"{top}")
            else:
                text.append("▀", style=f"{top} on {bottom}")
    return text


def legend(plate: PlateSummary, shop_of: dict[str, str], limit: int = 12) -> Text:
    """`1 ■ part-17  job-4 (shop-a)  printing`, one line per part, up to `limit`."""
    text = Text()
    parts: Sequence[PlacedPart] = plate.parts
    for index, part in enumerate(parts[:limit]):
        if index:
            text.append("\n")
        mark = MARKS[index] if index < len(MARKS) else " "
        text.append(f"{mark} ", style="bold")
        text.append("■ ", style=PART_COLOURS[part.state])
        text.append(f"{part.part_id}  {part.job_id}")
        shop = shop_of.get(part.job_id)
        if shop:
            text.append(f" ({shop})", style="dim")
        text.append(f"  {part.state.value}", style=PART_COLOURS[part.state])
    if len(parts) > limit:
        text.append(f"\n… and {len(parts) - limit} more parts", style="dim")
    return text
