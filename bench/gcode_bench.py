"""How fast the G-code interpreter reads programs, and how close its estimate is to
PrusaSlicer's.

    .venv/bin/python bench/gcode_bench.py [--repeat 5]

Programs: the Benchy and the rocker arm from ../shared/reference/gcode, and the Igea head
sliced here with `prusa-slicer` and the reference settings when it is installed (else the
largest reference program stands in; the table says which). For each program it times
`check` (what the agent on a Raspberry Pi runs: pure Python), and `analyze_and_check`
with the pure-Python planner and with the numpy planner, best of N runs.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from firmware_profiles import load_profile  # noqa: E402
from firmware_profiles.gcode import analyze_and_check, check, format_duration  # noqa: E402
from firmware_profiles.gcode.api import numpy_available  # noqa: E402

SHARED = REPO.parent / "shared"
REFERENCE = SHARED / "reference"


def igea_program() -> tuple[str, Path]:
    """The Igea head sliced by PrusaSlicer (cached in the temp dir), or the largest
    reference program when PrusaSlicer is not installed."""
    slicer = shutil.which("prusa-slicer")
    mesh = SHARED / "models" / "igea_head.stl"
    if slicer is not None and mesh.exists():
        cache = Path(tempfile.gettempdir()) / "makerfarm-gcode-bench" / "igea_head_prusa.gcode"
        if not cache.exists() or cache.stat().st_mtime < mesh.stat().st_mtime:
            cache.parent.mkdir(parents=True, exist_ok=True)
            print(f"slicing {mesh.name} with {slicer} (once; cached in {cache.parent}) ...")
            subprocess.run(
                [
                    slicer,
                    "--export-gcode",
                    "--load",
                    str(REFERENCE / "prusa_generic220_pla.ini"),
                    "--center",
                    "110,110",
                    "-o",
                    str(cache),
                    str(mesh),
                ],
                check=True,
                capture_output=True,
                timeout=600,
            )
        return "igea_head (sliced here)", cache
    largest = max((REFERENCE / "gcode").glob("*.gcode"), key=lambda p: p.stat().st_size)
    return f"igea stand-in: {largest.stem} (no prusa-slicer)", largest


def best_of(repeat: int, work: Callable[[], object]) -> tuple[float, float]:
    """Best wall-clock and best CPU seconds of `repeat` runs. On a shared machine the CPU
    time is the fairer figure of the code's own speed; both are printed."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        work()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu


def prusa_estimate(text: str) -> float | None:
    found = re.search(r"; estimated printing time \(normal mode\) = (.*)", text[-60_000:])
    if found is None:
        return None
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return float(sum(int(v) * units[u] for v, u in re.findall(r"(\d+)([dhms])", found.group(1))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (best is kept)")
    args = parser.parse_args()
    profile = load_profile("generic-220")
    programs = [
        ("benchy", REFERENCE / "gcode" / "benchy_prusa.gcode"),
        ("rocker_arm", REFERENCE / "gcode" / "rocker_arm_prusa.gcode"),
        igea_program(),
    ]
    modes: list[tuple[str, Callable[[str], object]]] = [
        ("check (pure Python)", lambda text: check(text, profile, "PLA")),
        (
            "analyze_and_check, python planner",
            lambda text: analyze_and_check(text, profile, "PLA", planner="python"),
        ),
    ]
    if numpy_available():
        modes.append(
            (
                "analyze_and_check, numpy planner",
                lambda text: analyze_and_check(text, profile, "PLA", planner="numpy"),
            )
        )
    print(
        f"{'program':<30} {'lines':>7}  {'mode':<35} {'wall s':>6} {'cpu s':>6} "
        f"{'lines/s':>10} {'lines/cpu s':>11}"
    )
    estimates = []
    for name, path in programs:
        text = path.read_text()
        lines = text.count("\n")
        for mode, work in modes:
            wall, cpu = best_of(args.repeat, partial(work, text))
            print(
                f"{name:<30} {lines:>7}  {mode:<35} {wall:>6.3f} {cpu:>6.3f} "
                f"{lines / wall:>10,.0f} {lines / cpu:>11,.0f}"
            )
        stats, _ = analyze_and_check(text, profile, "PLA")
        estimates.append((name, stats.print_seconds, prusa_estimate(text), stats.layers))
    print()
    print(
        f"{'program':<30} {'our estimate':>13} {'PrusaSlicer':>12} {'difference':>11} {'layers':>7}"
    )
    for name, ours, theirs, layers in estimates:
        if theirs is None:
            continue
        print(
            f"{name:<30} {format_duration(ours):>13} {format_duration(theirs):>12} "
            f"{(ours - theirs) / theirs:>+10.1%} {layers:>7}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
