"""Small hand-made farm instances for the scheduler tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from protocol.planning import PlanInstance

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday, 09:00 in Berlin
WEEKDAYS = {day: ["08:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")}


def square(size: float) -> list[tuple[float, float]]:
    return [(0.0, 0.0), (size, 0.0), (size, size), (0.0, size)]


def site(ident: str, lat: float = 52.5, lon: float = 13.4, **extra: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "lat": lat,
        "lon": lon,
        "timezone": "Europe/Berlin",
        "staffed_hours": WEEKDAYS,
        **extra,
    }


def printer(ident: str, site_id: str = "north", bed: float = 220.0, **extra: Any) -> dict[str, Any]:
    values = {
        "id": ident,
        "site": site_id,
        "bed": {"width_mm": bed, "depth_mm": bed},
        "max_height_mm": 250.0,
        "materials": ["PLA", "PETG"],
        "enclosed": False,
        "loaded_material": "PLA",
        "loaded_colour": "black",
        "state": "idle",
    }
    values.update(extra)
    return values


def part(
    ident: str,
    job: str = "job-a",
    hours: float = 1.0,
    due_hours: float = 48.0,
    size: float = 40.0,
    lat: float = 52.5,
    lon: float = 13.4,
    **extra: Any,
) -> dict[str, Any]:
    values = {
        "id": ident,
        "job": job,
        "shop": "shop-1",
        "material": "PLA",
        "colour": "black",
        "footprint": square(size),
        "height_mm": 20.0,
        "print_seconds": hours * 3600.0,
        "due": NOW + timedelta(hours=due_hours),
        "ship_to": {"lat": lat, "lon": lon},
    }
    values.update(extra)
    return values


def job(name: str, count: int, **extra: Any) -> list[dict[str, Any]]:
    return [part(f"{name}-{i}", job=name, **extra) for i in range(count)]


def instance(
    sites: list[dict[str, Any]],
    printers: list[dict[str, Any]],
    parts: list[dict[str, Any]],
    **extra: Any,
) -> PlanInstance:
    return PlanInstance.model_validate(
        {"now": NOW, "sites": sites, "printers": printers, "parts": parts, **extra}
    )


def small_farm(parts: list[dict[str, Any]] | None = None, **extra: Any) -> PlanInstance:
    """Two sites 30 km apart, five printers, PLA and PETG work."""
    return instance(
        [site("north"), site("south", lat=52.23)],
        [
            printer("n1"),
            printer("n2", loaded_material="PETG", loaded_colour="white"),
            printer("n3", bed=256.0),
            printer("s1", "south"),
            printer("s2", "south", bed=180.0),
        ],
        parts
        if parts is not None
        else (
            job("job-a", 12)
            + job("job-b", 6, material="PETG", colour="white", hours=2.0)
            + job("job-c", 8, due_hours=10.0, size=30.0)
            + job("job-d", 5, lat=52.23, hours=0.5)
        ),
        **extra,
    )
