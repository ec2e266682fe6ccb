"""`makerfarm plan INSTANCE.json [-o PLAN.json] [--json] [--previous PLAN.json] [--seed N]`.

Reads a farm instance (JSON Schema: `makerfarm schema`, entry `plan.instance`), plans it and
prints a summary table per printer, the metrics and every part it could not place; `--json`
prints the plan itself, `-o` writes it to a file. Exit status 0 on success, 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from protocol.planning import Plan, PlanInstance
from scheduler.planner import plan
from scheduler.staffing import UnknownTimeZoneError

M = TypeVar("M", bound=BaseModel)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("instance", type=Path, help="farm instance JSON (plan.instance)")
    parser.add_argument("-o", "--output", type=Path, help="write the plan JSON here")
    parser.add_argument(
        "--previous", type=Path, help="the previous plan: plates it promised soon are kept"
    )
    parser.add_argument("--seed", type=int, default=0, help="tie-break seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")


def run(args: argparse.Namespace) -> int:
    try:
        instance = _read(args.instance, PlanInstance)
        previous = _read(args.previous, Plan) if args.previous else None
        result = plan(instance, previous, seed=args.seed)
    except (InputError, UnknownTimeZoneError) as error:
        print(f"makerfarm plan: {error}", file=sys.stderr)
        return 2
    text = result.model_dump_json(by_alias=True, indent=2)
    if args.output:
        args.output.write_text(text + "\n")
    if args.json:
        print(text)
    else:
        print(summary(instance, result))
        if args.output:
            print(f"\nplan written to {args.output}")
    return 0


class InputError(Exception):
    pass


def _read(path: Path, model: type[M]) -> M:
    try:
        raw = path.read_text()
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from error
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as error:
        raise InputError(f"{path} is not JSON: {error.msg} at line {error.lineno}") from error
    try:
        return model.model_validate(data)
    except ValidationError as error:
        lines = [f"{path} is not a valid {model.__name__}:"]
        for problem in error.errors()[:10]:
            where = ".".join(str(part) for part in problem["loc"]) or "(top level)"
            lines.append(f"  {where}: {problem['msg']}")
        if error.error_count() > 10:
            lines.append(f"  ... and {error.error_count() - 10} more")
        raise InputError("\n".join(lines)) from error


def summary(instance: PlanInstance, result: Plan) -> str:
    by_id = {plate.id: plate for plate in result.plates}
    rows = [("printer", "site", "plates", "parts", "spool ch", "first start", "last end")]
    for queue in result.queues:
        plates = [by_id[i] for i in queue.plates]
        starts = [p.start for p in plates if p.start is not None]
        ends = [p.end for p in plates if p.end is not None]
        rows.append(
            (
                queue.printer,
                plates[0].site,
                str(len(plates)),
                str(sum(len(p.placements) for p in plates)),
                str(sum(p.spool_change for p in plates)),
                min(starts).strftime("%Y-%m-%d %H:%M") if starts else "-",
                max(ends).strftime("%Y-%m-%d %H:%M") if ends else "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    m = result.metrics
    full = f"{m.full_plate_utilisation:.0%}" if m.full_plate_utilisation is not None else "-"
    lines += [
        "",
        f"parts {m.placed_parts}/{m.parts} placed on {m.plates} plates; "
        f"makespan {m.makespan_hours:.1f} h (times UTC)",
        f"late parts {m.late_parts}, mean tardiness {m.mean_tardiness_hours:.2f} h; "
        f"spool changes {m.spool_changes}; operator visits {m.operator_visits}",
        f"plate utilisation mean {m.mean_plate_utilisation:.0%}, full plates {full}; "
        f"mean shipping {m.mean_ship_km:.1f} km; idle full beds {m.idle_full_bed_hours:.1f} h",
    ]
    for warning in result.warnings:
        lines.append(f"warning: {warning}")
    if result.unplaced:
        lines += ["", f"{len(result.unplaced)} part(s) not placed:"]
        lines += [f"  {u.part} (job {u.job}): {u.reason}" for u in result.unplaced[:50]]
        if len(result.unplaced) > 50:
            lines.append(f"  ... and {len(result.unplaced) - 50} more (see --json)")
    return "\n".join(lines)
