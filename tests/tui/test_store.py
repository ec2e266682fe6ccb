"""The TUI's local store: merging controller summaries with agent states, change tracking."""

from __future__ import annotations

from datetime import timedelta

from protocol.messages.printer import EventKind, PrinterEvent, PrinterStatus
from protocol.topics import ParsedTopic, TopicKind
from tests.tui.farm_data import NOW, agent_state, alerts, farm_store, printer_summary
from tui.store import FleetStore


def test_a_newer_agent_state_overrides_the_summary_and_feeds_the_temperature_history() -> None:
    store = FleetStore()
    store.apply_printer_summary(
        printer_summary(
            "berlin", "mk4-01", "MK4", PrinterStatus.IDLE, "PLA", "black", None, None, None, 0
        )
    )
    store.apply_printer_state(
        "berlin",
        "mk4-01",
        agent_state(PrinterStatus.PRINTING, 1, 214.5, 60.0, (215.0, 60.0), "plate-1", 0.25, 600),
    )
    view = store.printers[("berlin", "mk4-01")]
    assert view.state is PrinterStatus.PRINTING
    assert (view.plate_id, view.progress, view.nozzle_c) == ("plate-1", 0.25, 214.5)
    assert list(view.nozzle_history) == [214.5]
    assert view.finishes_at == NOW + timedelta(seconds=600)


def test_an_older_agent_state_is_ignored() -> None:
    store = FleetStore()
    store.apply_printer_state(
        "berlin", "p1", agent_state(PrinterStatus.PRINTING, 5, 200.0, 60.0, (215.0, 60.0))
    )
    store.apply_printer_state(
        "berlin", "p1", agent_state(PrinterStatus.IDLE, 4, 30.0, 25.0, (0.0, 0.0))
    )
    view = store.printers[("berlin", "p1")]
    assert view.state is PrinterStatus.PRINTING
    assert list(view.nozzle_history) == [200.0]


def test_a_controller_summary_after_the_agent_state_wins() -> None:
    store = FleetStore()
    store.apply_printer_state(
        "berlin", "p1", agent_state(PrinterStatus.IDLE, 1, 25.0, 25.0, (0.0, 0.0))
    )
    store.apply_printer_summary(
        printer_summary(
            "berlin", "p1", "P1", PrinterStatus.MAINTENANCE, "PLA", "black", None, None, None, 0
        )
    )
    assert store.printers[("berlin", "p1")].state is PrinterStatus.MAINTENANCE


def test_changes_name_only_what_moved_since_the_last_look() -> None:
    store = farm_store()
    first = store.take_changes()
    assert first.new_printers and first.queue and first.alerts
    assert store.take_changes().printers == set()
    store.apply_printer_state(
        "leipzig", "voron-1", agent_state(PrinterStatus.PRINTING, 100, 216.0, 60.0, (215.0, 60.0))
    )
    changes = store.take_changes()
    assert changes.printers == {("leipzig", "voron-1")}
    assert not changes.new_printers and not changes.queue


def test_events_are_kept_once_and_progress_events_are_not_listed() -> None:
    store = FleetStore()
    topic = ParsedTopic(TopicKind.PRINTER_EVENTS, site="berlin", printer="p1")
    paused = PrinterEvent(event_id="e1", kind=EventKind.PAUSED, at=NOW)
    progress = PrinterEvent(
        event_id="e2", kind=EventKind.PROGRESS, plate_id="pl", progress=0.5, at=NOW
    )
    for event in (paused, paused, progress):
        store.apply(topic, event)
    assert [e.event_id for e in store.printers[("berlin", "p1")].events] == ["e1"]


def test_alerts_are_filtered_by_site() -> None:
    store = FleetStore()
    store.apply_alerts(alerts())
    assert len(store.alerts_at(None)) == 3
    assert {a.alert_id for a in store.alerts_at("leipzig")} == {"printer-voron-2"}


def test_an_agent_that_does_not_know_its_spool_leaves_the_loaded_material_alone() -> None:
    store = FleetStore()
    store.apply_printer_summary(
        printer_summary(
            "berlin", "p1", "P1", PrinterStatus.IDLE, "PETG", "orange", None, None, None, 0
        )
    )
    store.apply_printer_state(
        "berlin",
        "p1",
        agent_state(PrinterStatus.IDLE, 1, 25.0, 25.0, (0.0, 0.0), material=None, colour=None),
    )
    view = store.printers[("berlin", "p1")]
    assert (view.material, view.colour) == ("PETG", "orange")


def test_printers_in_trouble_and_late_jobs_count_as_alerts_once() -> None:
    store = farm_store()
    alerts = store.alerts_at(None)
    ids = sorted(a.alert_id for a in alerts)
    # The controller's three, plus the offline X1C it raised nothing for.
    assert ids == ["job-8-late", "printer-mk4-05", "printer-voron-2", "tui-printer-x1c-1"]
    assert [a.alert_id for a in store.alerts_at("berlin")] == ["printer-mk4-05", "job-8-late"]


def test_a_late_job_without_a_controller_alert_is_an_alert() -> None:
    store = farm_store()
    store.apply_alerts(alerts().model_copy(update={"alerts": ()}))
    late = [a for a in store.alerts_at(None) if a.job_id]
    assert [(a.alert_id, a.message) for a in late] == [
        ("tui-late-job-8", "job job-8 (gearshop order-1184) was due 2025-03-14 11:00 UTC")
    ]


def test_a_printer_whose_agent_never_connected_is_not_an_offline_alert() -> None:
    store = FleetStore()
    summary = printer_summary(
        "berlin", "new-1", "New", PrinterStatus.OFFLINE, None, None, None, None, None, 0
    )
    store.apply_printer_summary(summary.model_copy(update={"last_seen_at": None}))
    assert store.alerts_at(None) == []
    store.apply_printer_summary(summary)  # it was seen once: now it is missed
    assert [(a.message, a.raised_at) for a in store.alerts_at(None)] == [
        ("printer new-1 is offline", NOW - timedelta(minutes=25))
    ]
