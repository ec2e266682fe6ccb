"""The plates view (`3`): planned and running plates, and a drawing of the one highlighted.

The table lists the plates of the site in scope (or all sites) with their printer, state,
material, part count and start and end times in the site's local time; under it the bed
of the highlighted plate is drawn from the plate summary's outlines, with a legend naming
each part, its job and shop.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from protocol.messages.fleet import PlateSummary
from protocol.states import PlateState
from tui.formatting import NO_VALUE, PLATE_STATE_STYLES, local_time, material_text
from tui.screens.table_screen import Row, TableScreen
from tui.store import Changes
from tui.widgets.bed_drawing import draw_plate, legend

_STATE_ORDER = {
    state: rank
    for rank, state in enumerate(
        (
            PlateState.PRINTING,
            PlateState.AWAITING_BED_CLEAR,
            PlateState.SENT,
            PlateState.SLICED,
            PlateState.PLANNED,
            PlateState.FAILED,
            PlateState.CANCELLED,
            PlateState.DONE,
        )
    )
}
DRAWING_COLUMNS = 44
DRAWING_ROWS = 11


class PlatesScreen(TableScreen):
    VIEW_NAME = "plates"
    COLUMNS: ClassVar[tuple[tuple[str, int | None], ...]] = (
        ("Plate", 14),
        ("Site", 10),
        ("Printer", 14),
        ("State", 18),
        ("Material", 18),
        ("Parts", 5),
        ("Starts", 14),
        ("Ends", 14),
    )

    def compose_below(self) -> ComposeResult:
        with Horizontal(id="plate-panel", classes="panel"):
            yield Static(id="bed-drawing")
            yield Static(id="bed-legend")

    def build_rows(self) -> list[Row]:
        return [self._row(plate) for plate in self.store.plates_at(self.farm_app.site)]

    def _row(self, plate: PlateSummary) -> Row:
        tz = self.store.timezone_of(plate.site_id)
        now = self.farm_app.now()
        cells = (
            plate.plate_id,
            plate.site_id,
            plate.printer_id or NO_VALUE,
            Text(plate.state.value.replace("_", " "), style=PLATE_STATE_STYLES[plate.state]),
            material_text(plate.material, plate.colour),
            str(len(plate.parts)),
            local_time(plate.starts_at, tz, now),
            local_time(plate.ends_at, tz, now),
        )
        starts = plate.starts_at.timestamp() if plate.starts_at else None
        sort = (
            plate.plate_id,
            plate.site_id,
            plate.printer_id,
            (_STATE_ORDER[plate.state], starts or 0.0),
            (plate.material, plate.colour),
            -len(plate.parts),
            starts,
            plate.ends_at.timestamp() if plate.ends_at else None,
        )
        search = " ".join(
            (
                plate.plate_id,
                plate.site_id,
                plate.printer_id or "",
                plate.state.value,
                plate.material,
                plate.colour,
                *(p.job_id for p in plate.parts),
            )
        )
        return Row(plate.plate_id, cells, sort, search, plate)

    def shows(self, changes: Changes) -> bool:
        return bool(changes.plates or changes.sites) or changes.queue

    def summary(self) -> Text:
        plates = self.store.plates_at(self.farm_app.site)
        running = sum(1 for p in plates if p.state is PlateState.PRINTING)
        waiting = sum(1 for p in plates if p.state is PlateState.AWAITING_BED_CLEAR)
        text = Text(f" {len(plates)} plates · ")
        text.append(f"{running} printing", style="green")
        text.append(" · ")
        text.append(f"{waiting} awaiting bed clear", style="bold yellow" if waiting else "")
        text.append(f" · {sum(len(p.parts) for p in plates)} parts")
        return text

    def empty_text(self) -> str:
        return "no planned or running plates"

    def row_highlighted(self, row: Row | None) -> None:
        drawing = self.query_one("#bed-drawing", Static)
        caption = self.query_one("#bed-legend", Static)
        plate = row.data if row is not None else None
        if not isinstance(plate, PlateSummary):
            drawing.update("")
            caption.update(Text("no plate selected", style="dim"))
            return
        panel = self.query_one("#plate-panel")
        panel.border_title = (
            f"{plate.plate_id} on {plate.printer_id or 'no printer'} · bed "
            f"{plate.bed_width_mm:.0f} × {plate.bed_depth_mm:.0f} mm"
        )
        drawing.update(draw_plate(plate, DRAWING_COLUMNS, DRAWING_ROWS))
        caption.update(legend(plate, self.store.shops_by_job()))
