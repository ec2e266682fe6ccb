"""The outbox and the plate ledger on disk: order, durability, one transaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.ledger import PlateLedger, PlateRecord, PlateStatus
from agent.outbox import Outbox
from agent.store import AgentStore


def test_outbox_keeps_events_in_order_across_a_reopen(tmp_path: Path) -> None:
    store = AgentStore(tmp_path / "agent.sqlite")
    outbox = Outbox(store)
    seqs = [outbox.append(f"e{i}", "t", f"payload {i}".encode()) for i in range(5)]
    outbox.remove(seqs[0])
    store.close()
    reopened = Outbox(AgentStore(tmp_path / "agent.sqlite"))
    assert [entry.event_id for entry in reopened.pending()] == ["e1", "e2", "e3", "e4"]
    assert [entry.event_id for entry in reopened.pending(after_seq=seqs[2])] == ["e3", "e4"]
    assert len(reopened) == 4


def test_ledger_remembers_plates_and_the_bed_across_a_reopen(tmp_path: Path) -> None:
    store = AgentStore(tmp_path / "agent.sqlite")
    ledger = PlateLedger(store)
    assert ledger.bed_clear and not ledger.maintenance
    ledger.put(PlateRecord("p1", "a" * 64, PlateStatus.PRINTING, parts={"part-1": "obj-1"}))
    ledger.set_bed_clear(False)
    store.close()
    ledger = PlateLedger(AgentStore(tmp_path / "agent.sqlite"))
    assert not ledger.bed_clear
    record = ledger.get("p1")
    assert record is not None and record.part_for("obj-1") == "part-1"
    assert [r.plate_id for r in ledger.printing()] == ["p1"]


def test_a_failed_transaction_writes_neither_ledger_nor_outbox(tmp_path: Path) -> None:
    store = AgentStore(tmp_path / "agent.sqlite")
    ledger, outbox = PlateLedger(store), Outbox(store)
    with pytest.raises(RuntimeError), store.transaction():
        ledger.put(PlateRecord("p1", "a" * 64, PlateStatus.FINISHED))
        outbox.append("e1", "t", b"finished")
        raise RuntimeError("power cut")
    assert ledger.get("p1") is None and len(outbox) == 0
