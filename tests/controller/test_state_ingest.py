"""Printer states sorted in memory: heartbeats, news and stale reports, and the bulk save;
the whole-fleet reads that follow news (re-plan instances, fleet summaries)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from controller.db import new_session
from controller.db.tables import Printer
from controller.fleet_summaries import farm_summaries, printer_summaries
from controller.lifecycle import record_printer_state
from controller.plan_instance import InstanceBuilder, build_instance
from controller.state_ingest import StateIngest, Verdict, save_heartbeats
from protocol import topics
from protocol.codec import decode
from protocol.messages.fleet import AlertList, FleetPrinterSummary, SiteSummary
from protocol.messages.printer import PrinterState, PrinterStatus
from tests.controller.conftest import SITE, Farm

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def _report(
    sequence: int,
    state: PrinterStatus = PrinterStatus.IDLE,
    *,
    run_id: str = "run1",
    connection: int = 1,
    material: str | None = "PLA",
) -> PrinterState:
    return PrinterState(
        state=state,
        profile_id="prusa-mk4",
        material=material,
        colour="black",
        agent_version="test",
        at=T0 + timedelta(seconds=sequence),
        run_id=run_id,
        connection=connection,
        sequence=sequence,
    )


def _known(sequence: int = 1) -> StateIngest:
    ingest = StateIngest()
    ingest.applied(SITE, "mk4-1", _report(sequence))
    return ingest


def test_the_first_report_after_start_is_news() -> None:
    assert StateIngest().sort(SITE, "mk4-1", _report(1), T0) is Verdict.NEWS


def test_the_next_report_repeating_status_and_spool_is_a_heartbeat() -> None:
    ingest = _known()
    assert ingest.sort(SITE, "mk4-1", _report(2), T0) is Verdict.HEARTBEAT
    assert ingest.sort(SITE, "mk4-1", _report(3), T0) is Verdict.HEARTBEAT
    assert [row["sequence"] for row in ingest.take_heartbeats()] == [3]
    assert ingest.take_heartbeats() == []


def test_a_changed_status_or_spool_is_news() -> None:
    ingest = _known()
    assert ingest.sort(SITE, "mk4-1", _report(2, PrinterStatus.PRINTING), T0) is Verdict.NEWS
    assert ingest.sort(SITE, "mk4-1", _report(2, material="PETG"), T0) is Verdict.NEWS


def test_a_new_run_connection_site_or_a_gap_in_the_sequence_is_news() -> None:
    ingest = _known(sequence=5)
    assert ingest.sort(SITE, "mk4-1", _report(1, run_id="run2"), T0) is Verdict.NEWS
    assert ingest.sort(SITE, "mk4-1", _report(1, connection=2), T0) is Verdict.NEWS
    assert ingest.sort("elsewhere", "mk4-1", _report(6), T0) is Verdict.NEWS
    assert ingest.sort(SITE, "mk4-1", _report(7), T0) is Verdict.NEWS
    assert ingest.take_heartbeats() == []


def test_an_offline_report_is_always_news_and_an_old_one_is_stale() -> None:
    ingest = _known(sequence=5)
    assert ingest.sort(SITE, "mk4-1", _report(5), T0) is Verdict.STALE
    assert ingest.sort(SITE, "mk4-1", _report(3), T0) is Verdict.STALE
    ingest.applied(SITE, "mk4-1", _report(6, PrinterStatus.OFFLINE))
    assert ingest.sort(SITE, "mk4-1", _report(7, PrinterStatus.OFFLINE), T0) is Verdict.NEWS


def test_a_refused_printer_is_news_again() -> None:
    ingest = _known()
    ingest.forget("mk4-1")
    assert ingest.sort(SITE, "mk4-1", _report(2), T0) is Verdict.NEWS


def test_heartbeats_move_sequence_and_last_seen_in_the_database(farm: Farm) -> None:
    with new_session(farm.engine) as session:
        record_printer_state(session, SITE, "mk4-1", _report(1), now=T0)
        session.commit()
    ingest = _known()
    seen = T0 + timedelta(minutes=5)
    assert ingest.sort(SITE, "mk4-1", _report(2), seen) is Verdict.HEARTBEAT
    with new_session(farm.engine) as session:
        assert save_heartbeats(session, ingest.take_heartbeats()) == 1
        session.commit()
    printer = _printer(farm, "mk4-1")
    assert (printer.state_seq, printer.last_seen, printer.state_at) == (
        2,
        seen,
        T0 + timedelta(seconds=2),
    )


def test_a_heartbeat_never_undoes_a_newer_report_in_the_database(farm: Farm) -> None:
    with new_session(farm.engine) as session:
        record_printer_state(session, SITE, "mk4-1", _report(1), now=T0)
        session.commit()
    ingest = _known()
    assert ingest.sort(SITE, "mk4-1", _report(2), T0) is Verdict.HEARTBEAT
    rows = ingest.take_heartbeats()
    with new_session(farm.engine) as session:  # a newer report got there first
        record_printer_state(session, SITE, "mk4-1", _report(3, PrinterStatus.PAUSED), now=T0)
        session.commit()
    with new_session(farm.engine) as session:
        assert save_heartbeats(session, rows) == 0
        session.commit()
    printer = _printer(farm, "mk4-1")
    assert (printer.state_seq, printer.state) == (3, PrinterStatus.PAUSED.value)


def _printer(farm: Farm, printer_id: str) -> Printer:
    with Session(farm.engine) as session:
        printer = session.get(Printer, printer_id)
        assert printer is not None
        return printer


def test_a_report_repeating_news_still_queued_is_a_heartbeat_saved_after_the_news() -> None:
    ingest = StateIngest()
    first = _report(1)
    assert ingest.sort(SITE, "mk4-1", first, T0) is Verdict.NEWS
    ingest.queued(SITE, "mk4-1", first)
    assert ingest.sort(SITE, "mk4-1", _report(2), T0) is Verdict.HEARTBEAT
    assert ingest.sort(SITE, "mk4-1", _report(3), T0) is Verdict.HEARTBEAT
    assert ingest.sort(SITE, "mk4-1", _report(3), T0) is Verdict.STALE
    # held back: written before the news, it would make the news look stale
    assert ingest.take_heartbeats() == []
    ingest.applied(SITE, "mk4-1", first)
    assert [row["sequence"] for row in ingest.take_heartbeats()] == [3]
    assert ingest.sort(SITE, "mk4-1", _report(4), T0) is Verdict.HEARTBEAT


def test_a_change_after_queued_news_is_news_and_the_older_commit_does_not_hide_it() -> None:
    ingest = StateIngest()
    first, second = _report(1), _report(2, PrinterStatus.PRINTING)
    ingest.queued(SITE, "mk4-1", first)
    assert ingest.sort(SITE, "mk4-1", second, T0) is Verdict.NEWS
    ingest.queued(SITE, "mk4-1", second)
    ingest.applied(SITE, "mk4-1", first)  # the batch before the change commits
    assert ingest.sort(SITE, "mk4-1", _report(3, PrinterStatus.PRINTING), T0) is Verdict.HEARTBEAT
    assert ingest.take_heartbeats() == []  # still waits for the change's commit
    ingest.applied(SITE, "mk4-1", second)
    assert [row["sequence"] for row in ingest.take_heartbeats()] == [3]


def test_news_whose_transaction_failed_makes_the_next_report_news_again() -> None:
    ingest = _known()
    change = _report(2, PrinterStatus.PRINTING)
    ingest.queued(SITE, "mk4-1", change)
    ingest.not_applied("mk4-1")
    assert ingest.sort(SITE, "mk4-1", _report(3, PrinterStatus.PRINTING), T0) is Verdict.NEWS
    assert ingest.take_heartbeats() == []


def test_a_replan_reuses_the_specs_of_printers_that_did_not_change(farm: Farm) -> None:
    builder = InstanceBuilder()
    farm.printer("mk4-1")
    farm.printer("mk4-2")
    assert builder.build(farm.session, farm.now()) is None  # nothing to plan: fleet not read
    farm.mesh()
    farm.submit()
    first = builder.build(farm.session, farm.now())
    assert first is not None and builder.printers_built == 2
    assert {p.id: p.state for p in first.printers} == {"mk4-1": "idle", "mk4-2": "idle"}
    farm.printer("mk4-2", PrinterStatus.MAINTENANCE)
    second = builder.build(farm.session, farm.now())
    assert second is not None and builder.printers_built == 3
    assert second.printers[0] is first.printers[0]  # unchanged: the same spec
    assert (second.printers[1].id, second.printers[1].state) == ("mk4-2", "maintenance")
    assert second == build_instance(farm.session, second.now)  # as a fresh read says


def test_farm_summaries_count_every_printer_by_site_and_state(farm: Farm) -> None:
    farm.printer("mk4-1")
    farm.printer("mk4-2", PrinterStatus.PRINTING)
    farm.printer("mk4-3", PrinterStatus.ERROR)
    summaries = dict(farm_summaries(farm.session))
    site = decode(summaries[topics.fleet_site_topic(SITE)], SiteSummary)
    assert (site.printers, site.idle, site.printing, site.error) == (3, 1, 1, 1)
    alerts = decode(summaries[topics.fleet_alerts_topic()], AlertList)
    assert [alert.printer_id for alert in alerts.alerts] == ["mk4-3"]
    printers = dict(printer_summaries(farm.session, {"mk4-2", "unknown"}))
    assert list(printers) == [topics.fleet_printer_topic(SITE, "mk4-2")]
    assert (
        decode(printers[topics.fleet_printer_topic(SITE, "mk4-2")], FleetPrinterSummary).state
        is PrinterStatus.PRINTING
    )
