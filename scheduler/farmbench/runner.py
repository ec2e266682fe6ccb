"""Running FarmBench: every class, our planner and both baselines, one evaluator, one table.

Each class is generated from its seed; each method's plan is re-timed by the shared
evaluator (`scheduler.evaluate`), checked for feasibility (`scheduler.validate`) and
measured against the class's lower bounds. Solve time is wall-clock time of the method
alone (the benchmark is the shell here: the planner itself never reads a clock).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from protocol.planning import PlanInstance
from scheduler.draft import Draft
from scheduler.evaluate import measure, retime
from scheduler.farm import Farm, compile_farm
from scheduler.farmbench.baselines import ffd, fifo
from scheduler.farmbench.bounds import Bounds, lower_bounds
from scheduler.farmbench.generator import Spec, generate
from scheduler.output import write_plan
from scheduler.planner import build
from scheduler.validate import violations


@dataclass(frozen=True)
class BenchClass:
    name: str
    spec: Spec


CLASSES = (
    BenchClass("S-tight", Spec(100, 3, 1, seed=11, due="tight")),
    BenchClass("S-loose", Spec(100, 3, 1, seed=12, due="loose")),
    BenchClass("M-tight", Spec(1_000, 5, 5, seed=21, due="tight")),
    BenchClass("M-loose", Spec(1_000, 5, 5, seed=22, due="loose")),
    BenchClass("L-tight", Spec(10_000, 8, 20, seed=31, due="tight", printers_per_site=(10, 16))),
    BenchClass("L-loose", Spec(10_000, 8, 20, seed=32, due="loose", printers_per_site=(10, 16))),
)
QUICK = ("S-tight", "S-loose")


@dataclass(frozen=True)
class Row:
    bench_class: str
    method: str
    printers: int
    parts: int
    placed: int
    makespan_ratio: float
    mean_tardiness_hours: float
    late_parts: int
    spool_changes: int
    spool_change_bound: int
    plates: int
    full_plate_utilisation: float | None
    mean_plate_utilisation: float
    ship_ratio: float
    operator_visits: int
    idle_full_bed_hours: float
    solve_seconds: float
    cpu_seconds: float
    violations: int


def _ours(farm: Farm) -> list[list[Draft]]:
    plates, _warnings = build(farm, None, seed=0)
    return plates


METHODS: dict[str, Callable[[Farm], list[list[Draft]]]] = {
    "makerfarm": _ours,
    "ffd": ffd,
    "fifo": fifo,
}


def run_class(bench: BenchClass, validate: bool = True) -> list[Row]:
    instance = generate(bench.spec)
    rows = []
    for method, solve in METHODS.items():
        began, cpu = time.perf_counter(), time.process_time()
        farm = compile_farm(instance)  # compiling is part of solving
        plates = solve(farm)
        timing = retime(farm, plates)
        elapsed = (time.perf_counter() - began, time.process_time() - cpu)
        if method == "makerfarm":
            bounds = lower_bounds(farm, _busy(farm))
        rows.append(_row(bench, method, instance, farm, plates, timing, elapsed, validate))
    return [_with_bounds(row, bounds) for row in rows]


def _busy(farm: Farm) -> np.ndarray:
    busy = np.zeros(len(farm.printers))
    for p, printer in enumerate(farm.printers):
        if not farm.printer_available[p]:
            busy[p] = np.inf
        elif printer.free_at is not None:
            busy[p] = max(0.0, farm.seconds(printer.free_at))
    return busy


def _row(
    bench: BenchClass,
    method: str,
    instance: PlanInstance,
    farm: Farm,
    plates: list[list[Draft]],
    timing: object,
    elapsed: tuple[float, float],
    validate: bool,
) -> Row:
    metrics = measure(farm, plates, getattr(timing, "clocks", None))
    problems: list[str] = []
    if validate:
        plan = write_plan(farm, plates, {}, [], metrics, 0)
        problems = violations(instance, plan, farm)
    return Row(
        bench.name,
        method,
        len(instance.printers),
        metrics.parts,
        metrics.placed_parts,
        metrics.makespan_hours,
        metrics.mean_tardiness_hours,
        metrics.late_parts,
        metrics.spool_changes,
        0,
        metrics.plates,
        metrics.full_plate_utilisation,
        metrics.mean_plate_utilisation,
        metrics.mean_ship_km,
        metrics.operator_visits,
        metrics.idle_full_bed_hours,
        elapsed[0],
        elapsed[1],
        len(problems),
    )


def _with_bounds(row: Row, bounds: Bounds) -> Row:
    values = asdict(row)
    values["makespan_ratio"] = row.makespan_ratio / max(bounds.makespan_hours, 1e-9)
    values["ship_ratio"] = row.ship_ratio / max(bounds.mean_ship_km, 1e-9)
    values["spool_change_bound"] = bounds.spool_changes
    return Row(**values)


HEADER = (
    "class",
    "method",
    "printers",
    "placed",
    "makespan/LB",
    "tardiness h",
    "late",
    "spool ch (LB)",
    "plates",
    "util full",
    "util mean",
    "ship km/LB",
    "visits",
    "idle full h",
    "solve s",
    "cpu s",
    "invalid",
)


def format_table(rows: list[Row]) -> str:
    lines = [HEADER]
    for r in rows:
        full = f"{r.full_plate_utilisation:.0%}" if r.full_plate_utilisation is not None else "-"
        lines.append(
            (
                r.bench_class,
                r.method,
                str(r.printers),
                f"{r.placed}/{r.parts}",
                f"{r.makespan_ratio:.2f}",
                f"{r.mean_tardiness_hours:.2f}",
                str(r.late_parts),
                f"{r.spool_changes} ({r.spool_change_bound})",
                str(r.plates),
                full,
                f"{r.mean_plate_utilisation:.0%}",
                f"{r.ship_ratio:.2f}",
                str(r.operator_visits),
                f"{r.idle_full_bed_hours:.0f}",
                f"{r.solve_seconds:.2f}",
                f"{r.cpu_seconds:.2f}",
                str(r.violations),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    text = [
        "  ".join(cell.rjust(w) for cell, w in zip(line, widths, strict=True)) for line in lines
    ]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(text)
