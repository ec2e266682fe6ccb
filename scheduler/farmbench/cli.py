"""`makerfarm farmbench generate ...` and `makerfarm farmbench run [--quick] [--json]`."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from scheduler.farmbench.density import fill_density
from scheduler.farmbench.generator import Spec, generate
from scheduler.farmbench.runner import CLASSES, QUICK, format_table, run_class


def configure(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="action", required=True)
    gen = commands.add_parser("generate", help="write a generated farm instance")
    gen.add_argument("--parts", type=int, default=1000)
    gen.add_argument("--sites", type=int, default=5)
    gen.add_argument("--days", type=float, default=5.0)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--due", choices=("tight", "loose"), default="tight")
    gen.add_argument("--printers-per-site", default="4-16", help="LOW-HIGH (default 4-16)")
    gen.add_argument("-o", "--output", type=Path, required=True)
    bench = commands.add_parser("run", help="run every class with every method, print a table")
    bench.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    bench.add_argument("--only", help="comma-separated class names")
    bench.add_argument("--json", action="store_true", help="rows as JSON")


def run(args: argparse.Namespace) -> int:
    if args.action == "generate":
        return _generate(args)
    names = set(QUICK) if args.quick else {c.name for c in CLASSES}
    if args.only:
        names = set(args.only.split(","))
        unknown = names - {c.name for c in CLASSES}
        if unknown:
            print(
                f"unknown class(es) {sorted(unknown)}; classes: "
                + ", ".join(c.name for c in CLASSES),
                file=sys.stderr,
            )
            return 2
    rows = []
    for bench in CLASSES:
        if bench.name in names:
            rows += run_class(bench)
            if not args.json:
                print(f"{bench.name} done", file=sys.stderr)
    density = {step: fill_density(rotation_step_deg=step) for step in (90, 45)}
    if args.json:
        print(
            json.dumps(
                {"rows": [asdict(row) for row in rows], "fill_density_220mm_6mm": density}, indent=2
            )
        )
    else:
        print(format_table(rows))
        print(
            "\npacking alone, 220 mm bed, 6 mm gaps, largest first (libnest2d: 52-64 %): "
            + ", ".join(
                f"{value:.1%} with {step} degree rotations" for step, value in density.items()
            )
        )
    return 1 if any(row.violations for row in rows) else 0


def _generate(args: argparse.Namespace) -> int:
    try:
        low, high = (int(v) for v in args.printers_per_site.split("-"))
    except ValueError:
        print("--printers-per-site must look like 4-16", file=sys.stderr)
        return 2
    if not (1 <= low <= high) or args.parts < 0 or args.sites < 1 or args.days <= 0:
        print("need parts >= 0, sites >= 1, days > 0 and 1 <= LOW <= HIGH", file=sys.stderr)
        return 2
    spec = Spec(args.parts, args.sites, args.days, args.seed, args.due, (low, high))
    instance = generate(spec)
    args.output.write_text(instance.model_dump_json(by_alias=True, indent=1) + "\n")
    print(
        f"{args.output}: {len(instance.sites)} sites, {len(instance.printers)} printers, "
        f"{len(instance.parts)} parts"
    )
    return 0
