"""Staffed hours as UTC intervals: when someone is at a site to clear a bed or load a spool.

A site gives its hours per weekday in local time and its IANA time zone; `StaffCalendar`
turns them into sorted UTC intervals (seconds after the plan's `now`, daylight saving
included) and answers "is anyone there at t" and "when is the next staffed moment".
The time-zone rules are data (the tz database), so this stays a pure function of its input.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from protocol.planning import WEEKDAYS, staffed_minutes

HORIZON_DAYS = 400


class UnknownTimeZoneError(ValueError):
    pass


class StaffCalendar:
    """Staffed intervals of one site, in seconds relative to the plan's `now`."""

    def __init__(
        self,
        hours: Mapping[str, list[str]],
        timezone: str,
        now: datetime,
        horizon_days: int = HORIZON_DAYS,
    ) -> None:
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise UnknownTimeZoneError(
                f"time zone {timezone!r} is not in the tz database; use a name such as "
                "'Europe/Berlin'"
            ) from error
        self.starts: list[float] = []
        self.ends: list[float] = []
        daily = {
            WEEKDAYS.index(day): sorted(staffed_minutes(i) for i in spans)
            for day, spans in hours.items()
        }
        first = now.astimezone(zone).date() - timedelta(days=1)
        for offset in range(horizon_days + 2):
            day = first + timedelta(days=offset)
            for start_min, end_min in daily.get(day.weekday(), []):
                start = _local(day, start_min, zone) - now
                end = _local(day, end_min, zone) - now
                self._add(start.total_seconds(), end.total_seconds())

    def _add(self, start: float, end: float) -> None:
        if self.ends and start <= self.ends[-1]:  # touching intervals: one stretch
            self.ends[-1] = max(self.ends[-1], end)
            return
        self.starts.append(start)
        self.ends.append(end)

    @property
    def never_staffed(self) -> bool:
        return not self.starts

    def staffed_at(self, t: float) -> bool:
        i = bisect.bisect_right(self.starts, t) - 1
        return i >= 0 and t < self.ends[i]

    def next_staffed(self, t: float) -> float:
        """t itself when staff are there, else the start of the next staffed interval."""
        i = bisect.bisect_right(self.starts, t) - 1
        if i >= 0 and t < self.ends[i]:
            return t
        return self.starts[i + 1] if i + 1 < len(self.starts) else math.inf

    def window_after(self, t: float) -> tuple[float, float, float, float]:
        """(end of the staffed interval holding t, or t if none; next interval's start, end).

        Plates that start at t should end either before the first value (staff still there)
        or inside the next interval.
        """
        i = bisect.bisect_right(self.starts, t) - 1
        here_end = self.ends[i] if i >= 0 and t < self.ends[i] else t
        j = i + 1
        if j < len(self.starts):
            return here_end, self.starts[j], self.ends[j], _after(self, j)
        return here_end, math.inf, math.inf, math.inf


def _after(calendar: StaffCalendar, j: int) -> float:
    return calendar.starts[j + 1] if j + 1 < len(calendar.starts) else math.inf


def _local(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    if minutes >= 24 * 60:
        moment = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=zone)
    else:
        moment = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)
    return moment
