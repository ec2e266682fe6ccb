"""Failures the controller handles on its own: a printer that vanishes mid-print.

Real mosquitto, the controller in this process, the demo's nine simulated printers and
simulated staff. One printer loses power while printing (its agent's Last Will says
offline); after the grace period its plate is interrupted and the part is printed on
another printer, once."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from agent.journal import read_journal
from controller.config import BrokerAddress, ControllerSettings, Timing
from controller.demo import DemoPrinters, farm_toml
from controller.demo_farm import DemoJob
from controller.demo_meshes import demo_mesh
from controller.demo_staff import SimulatedStaff
from controller.job_tracker import JobTracker, submit_job
from controller.shop_link import ShopLink
from protocol.messages.printer import PrinterStatus
from protocol.states import JobState
from tests.e2e.harness import ControllerThread
from tests.support.mosquitto import Broker

WAIT_S = 90.0
SPEED = 150.0  # slow enough that the plate is still printing when its printer dies


def test_a_printer_offline_past_its_grace_period_has_its_plate_printed_elsewhere(
    mosquitto_factory: Callable[[], Broker], tmp_path: Path
) -> None:
    broker = mosquitto_factory()
    address = BrokerAddress(host=broker.host, port=broker.port)
    farm = tmp_path / "farm.toml"
    farm.write_text(farm_toml())
    settings = ControllerSettings(
        broker=address,
        data_dir=tmp_path / "data",
        farm_file=farm,
        workers=1,
        client_id=f"failures-{uuid.uuid4().hex[:6]}",
        timing=Timing(offline_grace_s=1.0, replan_min_interval_s=0.2, replan_debounce_s=0.05),
    )
    job = DemoJob(
        shop="keyring-co",
        client_ref="tag-1",
        mesh="keychain_tag",
        material="PLA",
        colour="black",
        quantity=1,
        ship_to=(52.52, 13.40),
    )
    with (
        ControllerThread(settings),
        DemoPrinters(address, tmp_path / "agents", SPEED) as printers,
        SimulatedStaff(address) as staff,
        JobTracker(broker.url) as tracker,
    ):
        with ShopLink(broker.url, None) as link:
            submit_job(link, job, demo_mesh(job.mesh).stl)
        assert tracker.wait_for(lambda: _printing(tracker), WAIT_S), tracker.stuck(["tag-1"])
        victim = next(
            pid for pid, state in staff.printer_states().items() if state == PrinterStatus.PRINTING
        )
        printers.agents[victim].crash()
        assert tracker.wait_for(lambda: tracker.state_of("tag-1") == "done", WAIT_S), tracker.stuck(
            ["tag-1"]
        )
        history = [status.state for status in tracker.history["tag-1"]]
    others = {
        pid: read_journal(tmp_path / "agents" / pid / "journal.jsonl")
        for pid in printers.agents
        if pid != victim
    }
    finished = [
        entry
        for entries in others.values()
        for entry in entries
        if entry.outcome == "finished" and entry.printed
    ]
    assert len(finished) == 1, "the part was not printed exactly once elsewhere"
    printing_at = history.index(JobState.PRINTING)
    assert JobState.ACCEPTED in history[printing_at:] or JobState.PLANNED in history[printing_at:]
    assert history[-1] == JobState.DONE


def _printing(tracker: JobTracker) -> bool:
    status = tracker.latest("tag-1")
    return status is not None and status.parts.printing > 0
