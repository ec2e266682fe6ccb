"""Fixtures for the controller's tests: fresh databases on SQLite and PostgreSQL, and a small
farm (`farm`) whose helpers run each lifecycle operation in its own committed transaction."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from controller import lifecycle as lc
from controller.db import new_session
from controller.db.tables import Event, Part, Plate, Printer
from protocol.messages.jobs import JobSubmit, MeshFormat, ShipTo
from protocol.messages.printer import EventKind, PrinterEvent, PrinterState, PrinterStatus
from protocol.planning import Placement, Plan, PlanMetrics, PlannedPlate, PrinterQueue
from tests.support.databases import (  # noqa: F401  (fixtures, found by name)
    db_url,
    farm_engine,
    migrated_db_url,
    postgres_admin,
    postgres_migrated,
    postgres_url,
    sqlite_template,
    sqlite_url,
)

SITE = "hackspace"
MESH = "a" * 64
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


class Farm:
    """One site, printers with PLA black loaded and idle, one mesh; helpers that run each
    lifecycle operation in its own committed transaction, as the service does."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.session: Session = new_session(engine)
        self.clock = T0
        self._ids = itertools.count(1)
        self._seq = itertools.count(1)

    def now(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    def commit(self) -> None:
        self.session.commit()

    def printer(
        self,
        printer_id: str,
        state: PrinterStatus = PrinterStatus.IDLE,
        material: str = "PLA",
        colour: str = "black",
    ) -> lc.Changes:
        report = PrinterState(
            state=state,
            profile_id="prusa-mk4",
            material=material,
            colour=colour,
            agent_version="test",
            at=self.now(),
            run_id="run1",
            connection=1,
            sequence=next(self._seq),
        )
        changes = lc.record_printer_state(self.session, SITE, printer_id, report, now=self.now())
        self.commit()
        return changes

    def mesh(self) -> None:
        lc.record_mesh(
            self.session,
            lc.MeshFacts(
                sha256=MESH,
                format="stl",
                size_bytes=684,
                stored_path=f"meshes/{MESH}",
                triangles=12,
                size_mm=(20.0, 20.0, 20.0),
                footprint=[(0, 0), (20, 0), (20, 20), (0, 20)],
                volume_mm3=8000.0,
            ),
        )
        self.commit()

    def submit(
        self, client_ref: str = "order-1", quantity: int = 2, shop: str = "acme"
    ) -> lc.JobOutcome:
        outcome = lc.accept_job(
            self.session,
            shop,
            submit(client_ref, quantity),
            estimate=lc.PartEstimate(1200.0, 6.5),
            now=self.now(),
        )
        self.commit()
        return outcome

    def plan(
        self, *plates: tuple[str, list[str]], plate_ids: list[str] | None = None
    ) -> lc.PlanOutcome:
        """Record a plan with one plate per (printer, part ids)."""
        ids = plate_ids or [f"plate{next(self._ids)}" for _ in plates]
        planned = [
            planned_plate(plate_id, printer, parts)
            for plate_id, (printer, parts) in zip(ids, plates, strict=True)
        ]
        queues: dict[str, list[str]] = {}
        for plate in planned:
            queues.setdefault(plate.printer, []).append(plate.id)
        outcome = lc.record_plan(self.session, make_plan(planned, queues), now=self.now())
        self.commit()
        return outcome

    def slice(self, plate_id: str) -> lc.Changes:
        lc.mark_plate_slicing(self.session, plate_id, now=self.now())
        changes = lc.mark_plate_sliced(
            self.session,
            plate_id,
            gcode_sha256="b" * 64,
            gcode_path=f"gcode/{plate_id}.gcode.gz",
            gcode_bytes=1000,
            estimated_seconds=2400.0,
            now=self.now(),
        )
        self.commit()
        return changes

    def dispatch(self, printer_id: str) -> lc.Dispatch | None:
        dispatch = lc.claim_plate_for_dispatch(self.session, printer_id, now=self.now())
        self.commit()
        return dispatch

    def agent(
        self,
        printer_id: str,
        kind: EventKind,
        plate_id: str | None = None,
        part_ids: tuple[str, ...] = (),
        event_id: str | None = None,
        details: str = "",
    ) -> lc.EventOutcome:
        event = PrinterEvent(
            event_id=event_id or f"ev{next(self._ids)}",
            kind=kind,
            plate_id=plate_id,
            part_ids=part_ids,
            details=details,
            at=self.now(),
        )
        outcome = lc.apply_printer_event(self.session, SITE, printer_id, event, now=self.now())
        self.commit()
        return outcome

    def staff(
        self, command_type: type, site: str = SITE, command_id: str | None = None, **fields: Any
    ) -> lc.StaffOutcome:
        command = command_type(
            command_id=command_id or f"c{next(self._ids)}",
            staff_user="sam",
            issued_at=self.now(),
            **fields,
        )
        outcome = lc.apply_staff_command(self.session, site, command, now=self.now())
        self.commit()
        return outcome

    def print_plate(self, printer_id: str, plate_id: str) -> None:
        """Slice, dispatch, start: the plate is printing on the printer."""
        self.slice(plate_id)
        dispatch = self.dispatch(printer_id)
        assert dispatch is not None and dispatch.plate.id == plate_id
        self.agent(printer_id, EventKind.PLATE_RECEIVED, plate_id)
        self.agent(printer_id, EventKind.PLATE_STARTED, plate_id)

    # --- reading -------------------------------------------------------------------------

    def part_states(self, job_id: str) -> list[str]:
        self.session.expire_all()
        parts = self.session.exec(
            select(Part).where(Part.job_id == job_id).order_by(col(Part.index))
        )
        return [part.state for part in parts]

    def part(self, part_id: str) -> Part:
        self.session.expire_all()
        part = self.session.get(Part, part_id)
        assert part is not None
        return part

    def plate(self, plate_id: str) -> Plate:
        self.session.expire_all()
        plate = self.session.get(Plate, plate_id)
        assert plate is not None
        return plate

    def get_printer(self, printer_id: str) -> Printer:
        self.session.expire_all()
        printer = self.session.get(Printer, printer_id)
        assert printer is not None
        return printer

    def events(self, entity_kind: str | None = None, entity_id: str | None = None) -> list[Event]:
        query = select(Event).order_by(col(Event.id))
        if entity_kind:
            query = query.where(Event.entity_kind == entity_kind)
        if entity_id:
            query = query.where(Event.entity_id == entity_id)
        return list(self.session.exec(query))

    def event_count(self) -> int:
        return len(self.events())


def submit(client_ref: str, quantity: int, material: str = "PLA") -> JobSubmit:
    return JobSubmit(
        client_ref=client_ref,
        mesh_sha256=MESH,
        mesh_format=MeshFormat.STL,
        material=material,
        colour="black",
        quantity=quantity,
        ship_to=ShipTo(lat=52.52, lon=13.40),
        due=T0 + timedelta(days=3),
    )


def planned_plate(plate_id: str, printer: str, parts: list[str]) -> PlannedPlate:
    return PlannedPlate(
        id=plate_id,
        printer=printer,
        site=SITE,
        material="PLA",
        colour="black",
        placements=[
            Placement(part=part, x_mm=30.0 + 30 * i, y_mm=30.0, rotation_deg=0.0)
            for i, part in enumerate(parts)
        ],
        print_seconds=600.0 + 1200.0 * len(parts),
        start=T0,
        end=T0 + timedelta(hours=1),
        locked=False,
        promised=False,
        spool_change=False,
        utilisation=0.2,
        bed_full=False,
    )


def make_plan(plates: list[PlannedPlate], queues: dict[str, list[str]]) -> Plan:
    placed = sum(len(plate.placements) for plate in plates)
    metrics = PlanMetrics(
        parts=placed,
        placed_parts=placed,
        unplaced_parts=0,
        plates=len(plates),
        makespan_hours=1.0,
        mean_tardiness_hours=0.0,
        late_parts=0,
        spool_changes=0,
        operator_visits=len(plates),
        mean_plate_utilisation=0.2,
        full_plate_utilisation=None,
        mean_ship_km=1.0,
        idle_full_bed_hours=0.0,
        cost=1.0,
    )
    return Plan.model_validate(
        {
            "schema": 1,
            "now": T0,
            "seed": 0,
            "plates": plates,
            "unplaced": [],
            "metrics": metrics,
            "queues": [PrinterQueue(printer=p, plates=ids) for p, ids in queues.items()],
        }
    )


@pytest.fixture
def farm(farm_engine: Engine) -> Iterator[Farm]:  # noqa: F811  (the fixture, by name)
    """A site with printers mk4-1 and mk4-2 (idle, PLA black, bed clear) and one mesh."""
    built = Farm(farm_engine)
    built.printer("mk4-1")
    built.printer("mk4-2")
    built.mesh()
    yield built
    built.session.close()
