"""The whole farm, end to end, against a real mosquitto: 3 makerspaces, 9 simulated printers,
50 jobs from 5 shops in 3 materials (one submitted with the real `mosquitto_pub`).

The controller runs as its own process and is killed with SIGKILL halfway through, then
started again on the same database; one printer fails its first plate. The test is the
farm's staff (it clears beds and loads spools through staff commands) and checks, from the
printers' own journals and the shops' status topics, that every part was printed exactly
once, every job is done, each job's statuses arrived in order, a failed plate's parts were
printed again, and no plate started on a bed before the staff cleared it.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from agent.journal import JournalEntry, read_journal
from controller.config import BrokerAddress
from controller.demo import DemoPrinters, farm_toml
from controller.demo_farm import DemoJob, demo_jobs
from controller.demo_meshes import demo_mesh
from controller.job_tracker import JobTracker, submit_job
from controller.shop_link import ShopLink
from protocol import topics
from protocol.codec import encode
from protocol.messages.jobs import JobStatus, JobSubmit, MeshFormat, ShipTo
from protocol.states import JobState
from tests.e2e.harness import ControllerProcess, RecordingStaff
from tests.reliability.evidence import accepted_clears
from tests.support.mosquitto import Broker

JOBS = 50
SPEED = 4000.0
DONE_WITHIN_S = 240.0
FAILING_PRINTER = "wd-ender-2"


@pytest.mark.timeout(600)
def test_farm_prints_every_part_exactly_once_through_a_controller_crash(
    mosquitto_factory: Callable[[], Broker], db_url: str, tmp_path: Path
) -> None:
    broker = mosquitto_factory()
    address = BrokerAddress(host=broker.host, port=broker.port)
    farm = tmp_path / "farm.toml"
    farm.write_text(farm_toml())
    controller = ControllerProcess(
        [
            "--broker",
            broker.url,
            "--db",
            db_url,
            "--data",
            str(tmp_path / "data"),
            "--farm",
            str(farm),
            "--replan-interval",
            "0.5",
            "--offline-grace",
            "60",
        ],
        tmp_path / "controller.log",
    )
    jobs = demo_jobs(JOBS, seed=11, max_quantity=2)
    refs = [job.client_ref for job in jobs]
    faults = {FAILING_PRINTER: [{"kind": "plate_failure", "at_progress": 0.5, "plates": 1}]}
    controller.start()
    try:
        controller.wait_until_logged("controller running")
        with (
            DemoPrinters(address, tmp_path / "agents", SPEED, faults) as printers,
            RecordingStaff(address) as staff,
            JobTracker(broker.url) as tracker,
        ):
            _submit(broker, jobs)
            half = sum(job.quantity for job in jobs) // 2
            assert tracker.wait_for(
                lambda: tracker.part_totals(refs)["printed"] >= half, DONE_WITHIN_S
            ), "\n".join(tracker.stuck(refs))
            controller.kill()
            controller.start()
            controller.wait_until_logged("controller running")
            finished = tracker.wait_for(lambda: tracker.all_final(refs), DONE_WITHIN_S)
            assert finished, "jobs not final:\n" + "\n".join(tracker.stuck(refs))
            journals = {
                pid: read_journal(tmp_path / "agents" / pid / "journal.jsonl")
                for pid in printers.agents
            }
            clears_sent = list(staff.clears_sent)
            history = {ref: list(tracker.history[ref]) for ref in refs}
    finally:
        assert controller.terminate() in (0, -9), (tmp_path / "controller.log").read_text()[-3000:]

    assert [ref for ref in refs if history[ref][-1].state != JobState.DONE] == []
    _statuses_arrived_in_order(history)
    part_of = _part_by_plate_label(db_url)
    printed = Counter(
        part_of[(e.plate_id, label)]
        for entries in journals.values()
        for e in entries
        if e.outcome == "finished"
        for label in e.printed
    )
    expected = _parts_of_jobs(db_url, refs)
    assert sorted(printed) == sorted(expected), "parts missing or extra"
    assert {part: n for part, n in printed.items() if n != 1} == {}, "parts printed twice"
    failed = [e for e in journals[FAILING_PRINTER] if e.outcome == "failed"]
    assert failed, "the injected plate failure did not happen"
    lost = {part_of[(failed[0].plate_id, label)] for label in failed[0].failed + failed[0].printed}
    assert lost and lost <= set(printed), "a failed plate's parts were not printed again"
    # A clear counts from when staff sent it, if the controller accepted it: the answer
    # (and its time) may die with the killed controller.
    _no_plate_started_before_its_bed_was_cleared(journals, accepted_clears(db_url, clears_sent))


def _submit(broker: Broker, jobs: list[DemoJob]) -> None:
    """All but the first job through `makerfarm submit`'s shop link; the first with the
    real mosquitto_pub, exactly as the README shows a shop."""
    first, rest = jobs[0], jobs[1:]
    _submit_with_mosquitto_pub(broker, first)
    with ShopLink(broker.url, None) as link:
        for job in rest:
            submit_job(link, job, demo_mesh(job.mesh).stl)


def _submit_with_mosquitto_pub(broker: Broker, job: DemoJob) -> None:
    tool = shutil.which("mosquitto_pub")
    assert tool, "mosquitto_pub is needed: apt-get install -y mosquitto-clients"
    mesh = demo_mesh(job.mesh).stl
    sha = hashlib.sha256(mesh).hexdigest()
    mesh_file = broker.config_path.parent / f"{sha}.stl"
    mesh_file.write_bytes(mesh)
    submit = JobSubmit(
        client_ref=job.client_ref,
        mesh_sha256=sha,
        mesh_format=MeshFormat.STL,
        material=job.material,
        colour=job.colour,
        quantity=job.quantity,
        ship_to=ShipTo(lat=job.ship_to[0], lon=job.ship_to[1]),
    )
    common = [tool, "-h", broker.host, "-p", str(broker.port), "-q", "1"]
    subprocess.run(
        [*common, "-t", topics.mesh_topic(job.shop, sha), "-f", str(mesh_file)],
        check=True,
        timeout=30,
    )
    subprocess.run(
        [*common, "-t", topics.job_submit_topic(job.shop), "-m", encode(submit).decode()],
        check=True,
        timeout=30,
    )


def _statuses_arrived_in_order(history: dict[str, list[JobStatus]]) -> None:
    for ref, statuses in history.items():
        times = [s.updated_at for s in statuses]
        assert times == sorted(times), f"{ref}: statuses out of order: {statuses}"
        assert statuses[0].state in (JobState.RECEIVED, JobState.ACCEPTED), ref
        done_at = [i for i, s in enumerate(statuses) if s.state == JobState.DONE]
        assert all(s.state == JobState.DONE for s in statuses[done_at[0] :]), ref


def _no_plate_started_before_its_bed_was_cleared(
    journals: dict[str, list[JournalEntry]], cleared: dict[str, list[datetime]]
) -> None:
    for printer, entries in journals.items():
        starts = [e for e in entries if e.outcome == "started"]
        ends = [e for e in entries if e.outcome in ("finished", "failed", "cancelled")]
        clears = sorted(cleared.get(printer, []))
        for previous_end, start in zip(ends, starts[1:], strict=False):
            ended = datetime.fromisoformat(previous_end.at)
            began = datetime.fromisoformat(start.at)
            assert any(ended <= t <= began for t in clears), (
                f"{printer}: plate {start.plate_id} started at {began} but no bed clear "
                f"after {previous_end.plate_id} ended at {ended}"
            )


def _engine(db_url: str) -> Engine:
    url = make_url(db_url)
    if url.get_backend_name() == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(url)


def _part_by_plate_label(db_url: str) -> dict[tuple[str, str], str]:
    engine = _engine(db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT plate_id, object_label, part_id FROM plate_parts")
            )
            return {(plate, label): part for plate, label, part in rows}
    finally:
        engine.dispose()


def _parts_of_jobs(db_url: str, refs: list[str]) -> list[str]:
    engine = _engine(db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT parts.id, jobs.client_ref"
                    " FROM parts JOIN jobs ON jobs.id = parts.job_id"
                )
            )
            wanted = set(refs)
            found = defaultdict(list)
            for part, ref in rows:
                if ref in wanted:
                    found[ref].append(part)
            assert set(found) == wanted, f"jobs without parts: {wanted - set(found)}"
            return [part for parts in found.values() for part in parts]
    finally:
        engine.dispose()
