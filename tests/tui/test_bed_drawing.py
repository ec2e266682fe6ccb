"""The plate drawing: parts land where the plan puts them, rotated about their origin."""

from __future__ import annotations

from protocol.messages.fleet import PlacedPart, PlateSummary
from protocol.states import PartState, PlateState
from tui.widgets.bed_drawing import draw_plate, legend, part_outline, rasterize


def _plate(*parts: PlacedPart) -> PlateSummary:
    return PlateSummary(
        plate_id="pl",
        site_id="s",
        printer_id="p",
        material="PLA",
        colour="black",
        state=PlateState.PLANNED,
        bed_width_mm=200,
        bed_depth_mm=200,
        parts=parts,
    )


def _square(
    part_id: str, x: float, y: float, size: float = 40.0, rotation: float = 0.0
) -> PlacedPart:
    return PlacedPart(
        part_id=part_id,
        job_id="j",
        x_mm=x,
        y_mm=y,
        rotation_deg=rotation,
        footprint=((0, 0), (size, 0), (size, size), (0, size)),
        state=PartState.PLANNED,
    )


def test_a_part_at_the_front_left_is_drawn_at_the_bottom_left() -> None:
    grid, scale = rasterize(_plate(_square("a", 0, 0)), columns=20, rows=10)
    assert scale == 10.0  # 200 mm over 20 pixels each way
    assert grid[19][0] == 0 and grid[16][3] == 0  # bottom-left 4 x 4 pixels
    assert grid[15][0] == -1 and grid[19][4] == -1
    assert grid[0][0] == -1  # the back of the bed is at the top


def test_rotation_turns_the_outline_counter_clockwise_about_the_origin() -> None:
    outline = part_outline(_square("a", 100, 100, size=40, rotation=90))
    xs, ys = [round(x) for x, _ in outline], [round(y) for _, y in outline]
    assert (min(xs), max(xs), min(ys), max(ys)) == (60, 100, 100, 140)


def test_a_part_without_an_outline_is_still_drawn() -> None:
    part = PlacedPart(part_id="a", job_id="j", x_mm=100, y_mm=100, state=PartState.PLANNED)
    grid, _scale = rasterize(_plate(part), columns=40, rows=20)
    assert any(0 in row for row in grid)


def test_each_part_carries_its_number_and_the_legend_names_it() -> None:
    plate = _plate(_square("a", 10, 10), _square("b", 120, 120))
    drawing = draw_plate(plate, columns=20, rows=10).plain
    assert "1" in drawing and "2" in drawing
    text = legend(plate, {"j": "shop-a"}).plain
    assert "1 ■ a  j (shop-a)  planned" in text
