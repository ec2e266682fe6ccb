"""The fleet table's rules: what a filter matches, how each sort orders, site groups."""

from __future__ import annotations

from protocol.messages.printer import PrinterStatus
from tests.tui.farm_data import NOW, farm_store
from tui.fleet_rows import (
    GroupLine,
    SortOrder,
    filter_words,
    group_cells,
    ordered_lines,
    row_cells,
)


def test_every_filter_word_must_match_somewhere_in_the_row() -> None:
    views = farm_store().printers.values()
    assert ordered_lines(views, SortOrder.SITE, filter_words("PETG"), grouped=False) == [
        ("berlin", "mk4-02"),
        ("leipzig", "x1c-2"),
    ]
    lines = ordered_lines(views, SortOrder.SITE, filter_words("petg  Berlin"), grouped=False)
    assert lines == [("berlin", "mk4-02")]
    assert ordered_lines(views, SortOrder.SITE, filter_words("bed clear"), grouped=False) == [
        ("berlin", "mk4-03")
    ]


def test_state_sort_puts_what_needs_a_person_first() -> None:
    lines = ordered_lines(farm_store().printers.values(), SortOrder.STATE, [], grouped=False)
    assert lines[:4] == [
        ("berlin", "mk4-05"),
        ("leipzig", "voron-2"),
        ("leipzig", "x1c-1"),
        ("berlin", "mk4-03"),
    ]


def test_time_left_sort_puts_the_next_printer_to_finish_first() -> None:
    lines = ordered_lines(farm_store().printers.values(), SortOrder.TIME_LEFT, [], grouped=False)
    assert lines[:2] == [("berlin", "mk4-03"), ("berlin", "mk4-02")]


def test_all_sites_are_grouped_under_a_line_per_site() -> None:
    lines = ordered_lines(farm_store().printers.values(), SortOrder.SITE, [], grouped=True)
    assert lines[0] == GroupLine("berlin")
    assert lines[7] == GroupLine("leipzig")
    assert len(lines) == 12


def test_a_site_line_tallies_its_printers_by_state() -> None:
    store = farm_store()
    cells = group_cells("leipzig", "Makerspace Leipzig", store.printers_at("leipzig"))
    assert str(cells[1]) == "Makerspace Leipzig"
    assert str(cells[2]) == "1✋ 1⌁ 1▶ 1⚒"


def test_a_printing_row_shows_progress_time_left_and_local_finish_time() -> None:
    view = farm_store().printers[("berlin", "mk4-01")]
    cells = [str(cell) for cell in row_cells(view, "Europe/Berlin", NOW)]
    assert cells[0] == "▶ printing"
    assert cells[3].endswith("°/215°")
    assert cells[5].endswith("42%")
    assert cells[6:9] == ["plate-101", "1h05m", "15:05"]  # 13:00 UTC + 65 min, in Berlin


def test_an_idle_row_shows_no_time_left() -> None:
    view = farm_store().printers[("berlin", "mk4-04")]
    assert view.state is PrinterStatus.IDLE
    cells = [str(cell) for cell in row_cells(view, "UTC", NOW)]
    assert cells[7:9] == ["—", "—"]
