"""Fault injection, many trials: the scenarios of tests/reliability with bigger flows.

Each trial is a fresh farm (the demo's three makerspaces and nine printers, real Mosquitto
with persistence, `makerfarm controller` as its own process, real slicing) that is broken
one way while jobs flow; afterwards the four checks of issue 9 are computed from
independent evidence (the printers' print journals and plate ledgers, the staff's accepted
bed clears, the shops' status topics, the event log):

- controller-kill: kill -9 the controller at `--kills` seeded points of a 200-job flow;
- broker-restart: stop and start the central Mosquitto (persistence on) mid-run;
- agent-kill: kill -9 one agent process mid-print (its simulated printer dies with it),
  start it again;
- site-cut: the bridge of one site's Mosquitto to the central one drops for `--cut`
  seconds (through a TCP proxy), then returns;
- duplicates: every submit, event, state and command delivered twice, half of them late.

Prints one row per trial (trial, scenario, seed, fault, jobs accepted/completed, parts
printed/expected, duplicates, violations, recovery time: from each repair to the next job
status, median and worst) and a total; exit status 1 when any trial had a violation.

    .venv/bin/python bench/fault_bench.py                          # every scenario
    .venv/bin/python bench/fault_bench.py --scenario controller-kill --trials 20
    .venv/bin/python bench/fault_bench.py --scenario site-cut --cut 180 --trials 3
    .venv/bin/python bench/fault_bench.py --postgres               # PostgreSQL, not SQLite

Needs `mosquitto` (apt-get install -y mosquitto mosquitto-clients); `--postgres` needs the
server at postgresql://postgres@127.0.0.1:5432 (or MAKERFARM_TEST_POSTGRES).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from tests.reliability.scenarios import SCENARIOS, Trial  # noqa: E402

DEFAULT_TRIALS = {"controller-kill": 20}
OTHER_TRIALS = 3
POSTGRES = os.environ.get("MAKERFARM_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario",
        action="append",
        choices=sorted(SCENARIOS),
        help="run only this scenario (repeatable; default: all)",
    )
    parser.add_argument(
        "--trials",
        type=int,
        help=f"trials per scenario (default: 20 for controller-kill, {OTHER_TRIALS} for others)",
    )
    parser.add_argument("--seed", type=int, default=100, help="the first trial's seed")
    parser.add_argument("--jobs", type=int, help="jobs per flow (default: the scenario's)")
    parser.add_argument(
        "--kills", type=int, default=3, help="controller-kill: kills per 200-job flow"
    )
    parser.add_argument(
        "--cut", type=float, default=60.0, help="site-cut: seconds the site is cut off"
    )
    parser.add_argument("--postgres", action="store_true", help="use PostgreSQL, not SQLite")
    parser.add_argument("--keep", type=Path, help="keep each trial's files under this folder")
    return parser.parse_args()


def _postgres_database() -> tuple[str, Any]:
    admin_url = make_url(POSTGRES).set(drivername="postgresql+psycopg")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"makerfarm_fault_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(POSTGRES).set(database=name).render_as_string(hide_password=False), drop


def _run(scenario: str, seed: int, args: argparse.Namespace, workdir: Path) -> Trial:
    knobs: dict[str, Any] = {}
    if args.jobs:
        knobs["jobs"] = args.jobs
    if scenario == "controller-kill":
        knobs["kills"] = args.kills
    if scenario == "site-cut":
        knobs["cut_s"] = args.cut
    drop = None
    if args.postgres:
        db_url, drop = _postgres_database()
    else:
        db_url = f"sqlite:///{workdir / 'farm.db'}"
    try:
        return SCENARIOS[scenario](workdir, db_url, seed, **knobs)
    finally:
        if drop is not None:
            drop()


def _row(cells: list[str]) -> str:
    widths = (5, 16, 5, 48, 9, 9, 4, 4, 13, 7)
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))


def main() -> int:
    args = _arguments()
    # The in-process agents log every reconnect and refused duplicate: expected here.
    logging.basicConfig(level=logging.ERROR)
    scenarios = args.scenario or list(SCENARIOS)
    print(
        _row(
            [
                "trial",
                "scenario",
                "seed",
                "fault",
                "jobs",
                "parts",
                "dup",
                "viol",
                "recovery s",
                "seconds",
            ]
        )
    )
    print(_row(["(n)", "", "", "", "acc/done", "prnt/exp", "", "", "p50 / max", "(flow)"]))
    trials: list[Trial] = []
    number = 0
    for scenario in scenarios:
        count = args.trials or DEFAULT_TRIALS.get(scenario, OTHER_TRIALS)
        for n in range(count):
            number += 1
            seed = args.seed + n
            workdir = (
                args.keep / f"{number:03d}-{scenario}-{seed}"
                if args.keep
                else Path(tempfile.mkdtemp(prefix=f"fault-{scenario}-"))
            )
            workdir.mkdir(parents=True, exist_ok=True)
            started = time.monotonic()
            try:
                trial = _run(scenario, seed, args, workdir)
            except Exception as error:  # a trial that could not finish is a failed trial
                from tests.reliability.evidence import Verdict

                trial = Trial(scenario, seed, "(crashed)", Verdict())
                trial.verdict.fail(f"the trial did not finish: {error!r}")
                trial.seconds = time.monotonic() - started
            finally:
                if not args.keep:
                    shutil.rmtree(workdir, ignore_errors=True)
            trials.append(trial)
            v = trial.verdict
            recovery = (
                f"{statistics.median(trial.recovery_s):.2f} / {max(trial.recovery_s):.2f}"
                if trial.recovery_s
                else "-"
            )
            print(
                _row(
                    [
                        str(number),
                        scenario,
                        str(seed),
                        trial.fault[:48],
                        f"{v.accepted}/{v.completed}",
                        f"{v.parts_printed}/{v.parts_expected}",
                        str(v.duplicates),
                        str(len(v.violations)),
                        recovery,
                        f"{trial.seconds:.0f}",
                    ]
                ),
                flush=True,
            )
            for line in v.violations[:10]:
                print(f"      violation: {line}", flush=True)
    failed = [t for t in trials if not t.passed]
    kills = sum(len(t.restart_s) for t in trials)
    restarts = [s for t in trials for s in t.restart_s]
    print()
    print(
        f"{len(trials)} trials, {len(failed)} with violations; "
        f"{sum(t.verdict.accepted for t in trials)} jobs accepted, "
        f"{sum(t.verdict.completed for t in trials)} completed, "
        f"{sum(t.verdict.parts_printed for t in trials)} parts printed, "
        f"{sum(t.verdict.duplicates for t in trials)} printed twice"
    )
    if restarts:
        print(
            f"controller kills: {kills}; restart to 'controller running' "
            f"p50 {statistics.median(restarts):.2f} s, max {max(restarts):.2f} s"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
