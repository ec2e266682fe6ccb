"""Staffed hours in local time become UTC intervals, daylight saving included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scheduler.staffing import StaffCalendar, UnknownTimeZoneError

HOURS = {"mon": ["09:00-17:00"], "tue": ["09:00-12:00", "13:00-17:00"]}


def test_local_hours_become_utc_seconds_after_now() -> None:
    now = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # Monday 07:00 in Berlin (UTC+1)
    calendar = StaffCalendar(HOURS, "Europe/Berlin", now)
    assert calendar.next_staffed(0.0) == 2 * 3600.0  # 09:00 local = 08:00 UTC
    assert calendar.staffed_at(3 * 3600.0)
    assert not calendar.staffed_at(10 * 3600.0)  # 17:00 local is 16:00 UTC


def test_the_next_staffed_moment_skips_lunch_and_closed_days() -> None:
    now = datetime(2026, 3, 3, 11, 30, tzinfo=UTC)  # Tuesday 12:30 Berlin, lunch
    calendar = StaffCalendar(HOURS, "Europe/Berlin", now)
    assert calendar.next_staffed(0.0) == 30 * 60.0
    after_tuesday = calendar.next_staffed(6 * 3600.0)  # Tuesday evening -> next Monday 09:00
    assert after_tuesday == (5 * 24 + 20.5) * 3600.0  # Monday 08:00 UTC


def test_summer_time_moves_the_utc_hours() -> None:
    now = datetime(2026, 3, 30, 6, 0, tzinfo=UTC)  # Monday after the switch: UTC+2
    calendar = StaffCalendar(HOURS, "Europe/Berlin", now)
    assert calendar.next_staffed(0.0) == 1 * 3600.0  # 09:00 local = 07:00 UTC


def test_a_site_without_hours_is_never_staffed() -> None:
    calendar = StaffCalendar({}, "UTC", datetime(2026, 1, 1, tzinfo=UTC))
    assert calendar.never_staffed and calendar.next_staffed(0.0) == float("inf")


def test_an_unknown_time_zone_is_named() -> None:
    with pytest.raises(UnknownTimeZoneError, match="Mars/Olympus"):
        StaffCalendar(HOURS, "Mars/Olympus", datetime(2026, 1, 1, tzinfo=UTC))
