"""How values read on screen: durations, local times per site, progress bars."""

from __future__ import annotations

from datetime import UTC, datetime

from tui.formatting import duration, local_time, progress_bar, temperature

NOON = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)


def test_durations_read_in_the_largest_useful_units() -> None:
    assert [duration(s) for s in (40, 840, 7500, 200_000, None)] == [
        "40s",
        "14m",
        "2h05m",
        "2d07h",
        "—",
    ]


def test_times_show_in_the_sites_zone_with_the_day_when_not_today() -> None:
    assert local_time(NOON, "Europe/Berlin", NOON) == "14:00"
    assert local_time(NOON, "America/New_York", NOON) == "08:00"
    assert local_time(datetime(2025, 7, 3, 9, 0, tzinfo=UTC), "UTC", NOON) == "Thu 09:00"
    assert local_time(datetime(2025, 8, 3, 9, 0, tzinfo=UTC), "UTC", NOON) == "03 Aug 09:00"


def test_an_unknown_time_zone_falls_back_to_utc() -> None:
    assert local_time(NOON, "Mars/Olympus_Mons", NOON) == "12:00"


def test_progress_bar_fills_in_eighths() -> None:
    assert progress_bar(0.5, width=4).plain == "██──  50%"
    assert progress_bar(0.53, width=4).plain.startswith("██▏")
    assert progress_bar(None).plain == "—"


def test_temperature_leaves_out_the_target_of_a_heater_that_is_off() -> None:
    assert temperature(24.4, 0.0).plain == "24°"
    assert temperature(214.6, 215.0).plain == "215°/215°"
