"""The printer's retained state and its telemetry, as the agent publishes them.

`PrinterState` goes out retained at QoS 1 every `state_interval_s` and at once when
something that matters changes (state, plate, error); its Last Will twin says
`offline`. States carry this run's id, the broker connection number and a
sequence number, so a receiver can tell a stale retained state from a new one.
Telemetry (temperatures) goes out at QoS 0: the next sample replaces a lost one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from importlib import metadata

from agent.backends.base import BackendStatus
from agent.session import PrinterSession
from protocol import Heater, PrinterState, Telemetry, ToolTemperature, offline_will


def agent_version() -> str:
    try:
        return "makerfarm-agent " + metadata.version("makerfarm")
    except metadata.PackageNotFoundError:
        return "makerfarm-agent (source)"


class StateReporter:
    def __init__(self, session: PrinterSession, profile_id: str) -> None:
        self.session = session
        self.profile_id = profile_id
        self.run_id = uuid.uuid4().hex[:16]
        self.version = agent_version()
        self._sequence = 0
        self._last_key: tuple[object, ...] | None = None

    def will(self, connection: int) -> PrinterState:
        """The Last Will for broker connection number `connection`."""
        return offline_will(
            agent_version=self.version,
            run_id=self.run_id,
            connection=connection,
            at=datetime.now(UTC),
            profile_id=self.profile_id,
        )

    def leaving(self, connection: int) -> PrinterState:
        """The state to leave behind on a clean shutdown (a clean disconnect sends no will)."""
        return offline_will(
            agent_version=self.version,
            run_id=self.run_id,
            connection=connection,
            at=datetime.now(UTC),
            profile_id=self.profile_id,
        ).model_copy(update={"error": "agent stopped"})

    def snapshot(self, connection: int, status: BackendStatus | None = None) -> PrinterState:
        session = self.session
        status = status or session.backend.status()
        plate = session.plate
        self._sequence += 1
        return PrinterState(
            state=session.printer_status(status),
            profile_id=self.profile_id,
            material=None,
            plate_id=plate.plate_id if plate else session.last_plate_id,
            progress=status.progress if plate else None,
            seconds_left=status.seconds_left if plate else None,
            nozzle=_heater(status.hotend_c, status.hotend_target_c),
            bed=_heater(status.bed_c, status.bed_target_c),
            error=(status.error or "")[:500],
            agent_version=self.version,
            at=datetime.now(UTC),
            run_id=self.run_id,
            connection=connection,
            sequence=self._sequence,
        )

    def changed(self, status: BackendStatus) -> bool:
        """True when something worth an immediate state update changed since the last call."""
        session = self.session
        key = (
            session.printer_status(status),
            session.plate.plate_id if session.plate else None,
            session.last_plate_id,
            status.error,
        )
        if key == self._last_key:
            return False
        self._last_key = key
        return True

    def forget_last(self) -> None:
        """Make the next `changed()` true (after reconnecting, say)."""
        self._last_key = None

    def telemetry(self, status: BackendStatus) -> Telemetry | None:
        temperatures = []
        if status.hotend_c is not None:
            temperatures.append(
                ToolTemperature(
                    name="T0", current_c=status.hotend_c, target_c=status.hotend_target_c or 0.0
                )
            )
        if status.bed_c is not None:
            temperatures.append(
                ToolTemperature(
                    name="bed", current_c=status.bed_c, target_c=status.bed_target_c or 0.0
                )
            )
        if not temperatures:
            return None
        return Telemetry(temperatures=tuple(temperatures), at=datetime.now(UTC))


def _heater(current: float | None, target: float | None) -> Heater | None:
    if current is None:
        return None
    return Heater(current_c=current, target_c=target or 0.0)
