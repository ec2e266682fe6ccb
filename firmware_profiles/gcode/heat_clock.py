"""How long the heating waits take: a rough model for planning a farm's day.

PrusaSlicer leaves heating out of its estimate, and so does `print_seconds`; the waits
are reported apart as `heatup_seconds`. Each heater heats or cools at a typical constant
rate towards its target from the moment the target is set, so a hotend preheated while the
bed heats is ready sooner. The rates are a 40 W hotend, a 220 mm 24 V bed and a passively
heated chamber; a farm's own printers differ, so treat the figure as an estimate.
"""

from __future__ import annotations

AMBIENT_C = 25.0
# Typical rates of a 40 W hotend, a 220 mm 24 V bed and a passively heated chamber.
HEATING_C_PER_S = {"hotend": 2.0, "bed": 0.5, "chamber": 0.05}
COOLING_C_PER_S = {"hotend": 1.0, "bed": 0.1, "chamber": 0.02}


class HeatClock:
    """Heater temperatures over time, to estimate how long the waits take."""

    def __init__(self) -> None:
        self.seconds = 0.0
        # heater -> (temperature when the target was set, target, at which time)
        self._heaters: dict[str, tuple[float, float, float]] = {}

    def set_target(self, heater: str, target: float, now: float) -> None:
        self._heaters[heater] = (self._temperature(heater, now), max(target, AMBIENT_C), now)

    def wait(self, heater: str, now: float, cooling_too: bool = False) -> None:
        temperature = self._temperature(heater, now)
        _, target, _ = self._heaters.get(heater, (AMBIENT_C, AMBIENT_C, 0.0))
        kind = _kind(heater)
        if temperature < target:
            waited = (target - temperature) / HEATING_C_PER_S[kind]
        elif cooling_too and temperature > target:
            waited = (temperature - target) / COOLING_C_PER_S[kind]
        else:
            waited = 0.0
        self.seconds += waited
        self._heaters[heater] = (target if waited else temperature, target, now + waited)

    def _temperature(self, heater: str, now: float) -> float:
        start, target, since = self._heaters.get(heater, (AMBIENT_C, AMBIENT_C, 0.0))
        elapsed = max(0.0, now - since)
        kind = _kind(heater)
        if target >= start:
            return min(target, start + HEATING_C_PER_S[kind] * elapsed)
        return max(target, start - COOLING_C_PER_S[kind] * elapsed)


def _kind(heater: str) -> str:
    return "hotend" if heater.startswith("hotend") else heater
