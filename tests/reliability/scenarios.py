"""The fault scenarios, shared by the test suite (few trials, small flows) and
`bench/fault_bench.py` (many trials, the full 200-job flows).

Each scenario runs one trial on a fresh `FaultFarm` and returns a `Trial`: what was broken,
the evidence's figures (`tests.reliability.evidence`), and how long the farm took to move
again after each fault was repaired.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from agent.journal import read_journal
from controller.demo_farm import PRINTERS
from tests.reliability.evidence import Verdict, engine_for
from tests.reliability.farm import Duplicator, FarmOptions, FaultFarm

RECOVERY_WAIT_S = 60.0
FLOW_TIMEOUT_S = 300.0


@dataclass
class Trial:
    scenario: str
    seed: int
    fault: str
    verdict: Verdict
    recovery_s: list[float] = field(default_factory=list)  # repair -> the next job status
    restart_s: list[float] = field(default_factory=list)  # start -> "controller running"
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.verdict.violations


def _settle(farm: FaultFarm, trial: Trial, began: float) -> None:
    """Wait (bounded) until every job is final; the trial's flow time."""
    if not farm.wait_all_final(FLOW_TIMEOUT_S):
        trial.notes.append("not every job was final in time: " + "; ".join(farm.stuck()[:10]))
    trial.seconds = time.monotonic() - began


def _judge(farm: FaultFarm, trial: Trial) -> Trial:
    """The evidence, read once the farm has stopped (nothing changes while it is read)."""
    trial.verdict = farm.verdict()
    if any(note.startswith("not every job") for note in trial.notes):
        trial.verdict.fail("jobs not final when the trial ended")
    return trial


def _recovered(farm: FaultFarm, trial: Trial) -> None:
    took = farm.wait_for_news(RECOVERY_WAIT_S)
    if took is None:
        trial.notes.append(f"no job status within {RECOVERY_WAIT_S:g} s of the repair")
    else:
        trial.recovery_s.append(took)


def controller_kills(
    workdir: Path, db_url: str, seed: int, *, kills: int = 20, jobs: int = 200
) -> Trial:
    """kill -9 the controller `kills` times while `jobs` jobs flow, and start it again at
    once each time. The kill points are drawn from the seed and spread over the whole flow:
    each is a share of the parts printed (0-90 %, so kills land during intake, planning,
    slicing, dispatch and printing, some in the middle of the previous recovery) plus 0-1.5 s."""
    rng = random.Random(seed)
    points = sorted((rng.uniform(0.0, 0.9), rng.uniform(0.0, 1.5)) for _ in range(kills))
    trial = Trial("controller-kill", seed, f"kill -9 controller x{kills}", Verdict())
    began = time.monotonic()
    with FaultFarm(workdir, db_url, FarmOptions(jobs=jobs, seed=seed)) as farm:
        farm.submit()
        at: list[str] = []
        for share, delay_s in points:
            farm.wait_printed(share, FLOW_TIMEOUT_S)
            time.sleep(delay_s)  # the kill point: a moment, not a synchronisation
            at.append(f"{farm.printed()}")
            farm.kill_controller()
            trial.restart_s.append(farm.start_controller())
            _recovered(farm, trial)
        trial.notes.append(f"parts printed at each kill: {' '.join(at)} of {farm.total_parts}")
        _settle(farm, trial, began)
    return _judge(farm, trial)


def broker_restarts(
    workdir: Path, db_url: str, seed: int, *, restarts: int = 2, jobs: int = 40
) -> Trial:
    """Stop the central Mosquitto (persistence on) and start it again, `restarts` times,
    at seeded points of the flow, down for 0.5-3 s each time."""
    rng = random.Random(seed)
    trial = Trial("broker-restart", seed, f"restart mosquitto x{restarts}", Verdict())
    began = time.monotonic()
    with FaultFarm(workdir, db_url, FarmOptions(jobs=jobs, seed=seed)) as farm:
        farm.submit()
        points = sorted(rng.uniform(0.1, 0.8) for _ in range(restarts))
        for point in points:
            farm.wait_printed(point)
            farm.restart_broker(rng.uniform(0.5, 3.0))
            _recovered(farm, trial)
        _settle(farm, trial, began)
    return _judge(farm, trial)


# The only printer with ABS loaded: every ABS job (one in five) is its work.
VICTIM = "kb-p1s"


def _printing(spool: Path) -> str | None:
    """The plate the printer's journal shows started and not ended, if any."""
    entries = read_journal(spool / "journal.jsonl")
    open_plates = [e.plate_id for e in entries if e.outcome == "started"]
    for entry in entries:
        if entry.outcome != "started" and entry.plate_id in open_plates:
            open_plates.remove(entry.plate_id)
    return open_plates[-1] if open_plates else None


def agent_kills(workdir: Path, db_url: str, seed: int, *, kills: int = 1, jobs: int = 40) -> Trial:
    """kill -9 one agent process (the simulated printer inside it dies with it, like a
    serial-streamed print when its Pi loses power) mid-print, and start it again after
    0.5-2 s: the plate must fail and its parts be printed again, once."""
    rng = random.Random(seed)
    trial = Trial("agent-kill", seed, f"kill -9 agent {VICTIM} mid-print x{kills}", Verdict())
    began = time.monotonic()
    options = FarmOptions(
        jobs=jobs,
        seed=seed,
        process_agents=frozenset({VICTIM}),
        speeds={VICTIM: 300.0},  # its plates take seconds: the kill lands mid-print
    )
    killed: list[str] = []
    with FaultFarm(workdir, db_url, options) as farm:
        farm.submit()
        spool = farm.spool_root / VICTIM
        for _ in range(kills):
            farm.wait_until(
                lambda: _printing(spool) not in (None, *killed), FLOW_TIMEOUT_S, "a victim plate"
            )
            time.sleep(rng.uniform(0.0, 1.0))  # the kill point within the print
            plate = _printing(spool)
            farm.kill_agent(VICTIM)
            if plate is not None:
                killed.append(plate)
            time.sleep(rng.uniform(0.5, 2.0))  # the Pi is off
            farm.start_agent(VICTIM)
            _recovered(farm, trial)
        _settle(farm, trial, began)
    result = _judge(farm, trial)
    failed = _plate_states(db_url, killed)
    for plate in killed:
        if failed.get(plate) != "failed":
            result.verdict.fail(
                f"plate {plate} died with its agent but is {failed.get(plate)}, not failed"
            )
    result.notes.append(f"killed mid-print: {', '.join(killed) or 'none'}")
    return result


def site_cut_off(
    workdir: Path, db_url: str, seed: int, *, cut_s: float = 15.0, jobs: int = 40
) -> Trial:
    """The bridge between one site's Mosquitto and the central one drops for `cut_s`
    (keepalive 5 s; at speed x8000 that is many hours of printing), then returns. The
    site's printers must finish the plates they have while cut off, and nothing may be
    printed twice when the link is back."""
    site = "potsdam"
    trial = Trial("site-cut", seed, f"site {site} cut off for {cut_s:g} s", Verdict())
    began = time.monotonic()
    printers = [pid for pid, s, *_ in PRINTERS if s == site]
    with FaultFarm(workdir, db_url, FarmOptions(jobs=jobs, seed=seed, bridged_site=site)) as farm:
        farm.submit()
        spools = [farm.spool_root / pid for pid in printers]
        farm.wait_until(
            lambda: any(_printing(spool) for spool in spools), FLOW_TIMEOUT_S, "a site plate"
        )
        printing = {spool.name: _printing(spool) for spool in spools}
        assert farm.proxy is not None
        farm.proxy.cut()
        cut_at = time.monotonic()
        finished_while_cut = []
        while time.monotonic() - cut_at < cut_s:
            time.sleep(0.2)  # the outage's length is the fault itself
        for spool in spools:
            plate = printing.get(spool.name)
            ends = [e for e in read_journal(spool / "journal.jsonl") if e.plate_id == plate]
            if plate and any(e.outcome == "finished" for e in ends):
                finished_while_cut.append(plate)
        farm.proxy.restore()
        _recovered(farm, trial)
        _settle(farm, trial, began)
    result = _judge(farm, trial)
    if not finished_while_cut:
        result.verdict.fail("no plate of the cut-off site finished while it was cut off")
    twice = _events_of_kind(db_url, "part.printed_twice")
    if twice:
        result.verdict.fail(f"the controller logged {twice} part(s) printed twice")
    result.notes.append(f"finished while cut off: {', '.join(finished_while_cut)}")
    return result


def duplicates(workdir: Path, db_url: str, seed: int, *, jobs: int = 40) -> Trial:
    """Every submit, agent event, printer state, staff command and controller command is
    delivered twice (same ids), half of the copies late."""
    trial = Trial("qos1-duplicates", seed, "every message delivered twice", Verdict())
    began = time.monotonic()
    with (
        FaultFarm(workdir, db_url, FarmOptions(jobs=jobs, seed=seed)) as farm,
        Duplicator(farm.central, seed) as duplicator,
    ):
        farm.submit()
        _settle(farm, trial, began)
        sent = dict(duplicator.sent)
    result = _judge(farm, trial)
    result.fault += " (" + ", ".join(f"{n} {kind}" for kind, n in sorted(sent.items())) + ")"
    for kind in ("submit", "events", "state", "cmd", "staff"):
        if not sent.get(kind):
            result.verdict.fail(f"no {kind} message was duplicated: the trial tested nothing")
    return result


# Both have PLA white loaded: whichever is printing first goes, the other takes its parts.
GONE = ("wd-ender-1", "pd-ratrig")


def agent_gone(
    workdir: Path, db_url: str, seed: int, *, grace_s: float = 3.0, jobs: int = 20
) -> Trial:
    """kill -9 an agent mid-print and leave it off past the offline grace period, with the
    controller killed while the grace runs: the deadline is in the database, so the
    restarted controller still interrupts the plate, its parts are printed elsewhere, and
    when the agent comes back at last (its plate died with it) nothing is printed twice."""
    rng = random.Random(seed)
    trial = Trial("agent-gone", seed, f"agent off past {grace_s:g} s grace", Verdict())
    began = time.monotonic()
    options = FarmOptions(
        jobs=jobs,
        seed=seed,
        process_agents=frozenset(GONE),
        speeds=dict.fromkeys(GONE, 300.0),
        offline_grace_s=grace_s,
    )
    with FaultFarm(workdir, db_url, options) as farm:
        farm.submit()
        spools = {pid: farm.spool_root / pid for pid in GONE}
        farm.wait_until(
            lambda: any(_printing(spool) for spool in spools.values()),
            FLOW_TIMEOUT_S,
            "a plate on one of " + ", ".join(GONE),
        )
        victim = next(pid for pid, spool in spools.items() if _printing(spool))
        trial.fault = f"agent {victim} off past {grace_s:g} s grace"
        time.sleep(rng.uniform(0.0, 0.5))  # the kill point within the print
        plate = _printing(spools[victim])
        farm.kill_agent(victim)
        farm.wait_until(
            lambda: (
                _scalar(db_url, "SELECT grace_deadline FROM printers WHERE id = :p", p=victim)
                is not None
            ),
            RECOVERY_WAIT_S,
            "the offline grace timer",
        )
        farm.kill_controller()
        time.sleep(grace_s)  # the deadline passes while the controller is down
        trial.restart_s.append(farm.start_controller())
        if plate is not None:
            farm.wait_until(
                lambda: (
                    _scalar(db_url, "SELECT state FROM plates WHERE id = :p", p=plate)
                    == "interrupted"
                ),
                RECOVERY_WAIT_S,
                f"plate {plate} interrupted",
            )
        _recovered(farm, trial)
        farm.start_agent(victim)
        _settle(farm, trial, began)
    result = _judge(farm, trial)
    if plate is None:
        result.verdict.fail(f"the kill missed: {victim} had finished its plate")
    result.notes.append(f"interrupted: {plate}")
    return result


def _scalar(db_url: str, sql: str, **params: object) -> object:
    from sqlalchemy import text

    engine = engine_for(db_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def _plate_states(db_url: str, plate_ids: list[str]) -> dict[str, str]:
    from sqlalchemy import text

    engine = engine_for(db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, state FROM plates"))
            return {str(p): str(s) for p, s in rows if p in plate_ids}
    finally:
        engine.dispose()


def _events_of_kind(db_url: str, kind: str) -> int:
    from sqlalchemy import text

    engine = engine_for(db_url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    text("SELECT COUNT(*) FROM events WHERE kind = :kind"), {"kind": kind}
                ).scalar_one()
            )
    finally:
        engine.dispose()


SCENARIOS = {
    "controller-kill": controller_kills,
    "broker-restart": broker_restarts,
    "agent-kill": agent_kills,
    "site-cut": site_cut_off,
    "duplicates": duplicates,
    "agent-gone": agent_gone,
}
