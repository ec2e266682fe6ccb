"""How printer-state ingest splits between two controllers on one PostgreSQL database.

    .venv/bin/python bench/two_controller_bench.py --printers 500 1000 --seconds 20

For each size: a fresh mosquitto and PostgreSQL database, then (1) one controller alone and
(2) two controllers with `--shared-group`, each time with a swarm of simulated printers
reporting their state every second. Measured over `--seconds` once the swarm is connected:
the CPU share of each controller (from /proc; everything shares this machine's cores), the
states each controller received and how it sorted them (heartbeat / news / stale, from its
log at shutdown), and the transactions it ran again because the other controller changed the
same rows first. Mosquitto hands a shared subscription's messages to its members in turn, so
one printer's consecutive states alternate between the controllers: each controller sees a
gap in every printer's sequence, and a state that one controller alone would take as a
heartbeat is news to both (see README, "Two or more controllers").
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from controller.sim_farm import farm_toml, roster, sim_farm
from controller.sim_processes import (
    ControllerProcess,
    MosquittoProcess,
    SwarmProcess,
)

POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
PRINTERS_PER_SITE = 50


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, in clock ticks


def _admin(url: str) -> object:
    return create_engine(
        make_url(url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )


def _fresh_database(admin_url: str) -> tuple[str, str]:
    name = f"makerfarm_bench_{uuid.uuid4().hex[:8]}"
    engine = _admin(admin_url)
    with engine.connect() as connection:  # type: ignore[attr-defined]
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()  # type: ignore[attr-defined]
    return name, make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop_database(admin_url: str, name: str) -> None:
    engine = _admin(admin_url)
    with engine.connect() as connection:  # type: ignore[attr-defined]
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()  # type: ignore[attr-defined]


def _totals(log_path: Path) -> dict[str, int]:
    found: dict[str, int] = {}
    for raw in log_path.read_bytes().splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if line.get("event") == "printer states received":
            for key in ("heartbeat", "news", "stale"):
                found[key] = int(line.get(key, 0))
        elif line.get("event") == "database conflicts retried":
            found["retried"] = int(line.get("count", 0))
    return found


def measure(printers: int, controllers: int, seconds: float, workdir: Path, admin: str) -> dict:
    sites = max(1, printers // PRINTERS_PER_SITE)
    farm = sim_farm(sites, printers // sites)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "farm.toml").write_text(farm_toml(farm))
    (workdir / "roster.json").write_text(json.dumps(roster(farm)))
    name, db_url = _fresh_database(admin)
    try:
        with MosquittoProcess(workdir / "mosquitto") as broker:
            url = f"mqtt://127.0.0.1:{broker.port}"
            extra = ("--workers", "1")
            if controllers > 1:
                extra += ("--shared-group", "bench")
            procs = [
                ControllerProcess(
                    url, workdir, workdir / "farm.toml", db_url, *extra, log_name=f"ctl-{n}.log"
                )
                for n in range(controllers)
            ]
            try:
                with SwarmProcess(
                    url, workdir / "roster.json", 1.0, 0.0, 7, log_path=workdir / "swarm.log"
                ):
                    time.sleep(3.0)  # let the first reports (all news) pass
                    pids = [p.proc.pid for p in procs if p.proc is not None]
                    before, started = [cpu_seconds(pid) for pid in pids], time.monotonic()
                    time.sleep(seconds)
                    elapsed = time.monotonic() - started
                    cpu = [
                        (cpu_seconds(pid) - b) / elapsed
                        for pid, b in zip(pids, before, strict=True)
                    ]
            finally:
                for proc in procs:
                    proc.terminate()
            totals = [_totals(p.log_path) for p in procs]
    finally:
        _drop_database(admin, name)
    return {
        "printers": len(farm.printers),
        "controllers": controllers,
        "cpu": cpu,
        "totals": totals,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--printers", type=int, nargs="+", default=[500])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--postgres", default=POSTGRES, help="an admin URL of the server")
    args = parser.parse_args()
    print(
        f"{'printers':>8} {'ctls':>4} {'CPU per controller':>20} {'states per controller':>24} "
        f"{'heartbeat/news/stale (all)':>28} {'retried':>8}"
    )
    with tempfile.TemporaryDirectory(prefix="two-ctl-bench-") as temporary:
        for printers in args.printers:
            for controllers in (1, 2):
                workdir = Path(temporary) / f"{printers}-{controllers}"
                row = measure(printers, controllers, args.seconds, workdir, args.postgres)
                totals = row["totals"]
                received = [
                    sum(t.get(k, 0) for k in ("heartbeat", "news", "stale")) for t in totals
                ]
                kinds = [sum(t.get(k, 0) for t in totals) for k in ("heartbeat", "news", "stale")]
                cpu = " + ".join(f"{c:.0%}" for c in row["cpu"])
                print(
                    f"{row['printers']:>8} {controllers:>4} {cpu:>20} "
                    f"{' + '.join(str(n) for n in received):>24} "
                    f"{'/'.join(str(k) for k in kinds):>28} "
                    f"{sum(t.get('retried', 0) for t in totals):>8}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
