"""Slice the shared test meshes with makerfarm, PrusaSlicer and CuraEngine, side by side.

    .venv/bin/python bench/slice_bench.py [--models benchy igea_head] [--runs 3]

Every tool runs as a subprocess with the reference settings (../shared/reference/): wall
time is the median of `--runs` runs, peak memory is the child's maximum resident size
(os.wait4, the same measure for every tool). PrusaSlicer and CuraEngine are used when
installed (`apt-get install -y prusa-slicer cura-engine`); CuraEngine also needs Cura's
base definitions, which this script unpacks from Debian's `cura` package (`apt-get
download cura`) into ~/.cache/makerfarm-bench unless --cura-resources points to them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
MODELS = [
    "benchy",
    "cube_20mm",
    "rocker_arm",
    "igea_head",
    "stanford_bunny",
    "flat_plate_200x200x3",
]
# The reference .ini's settings that differ from makerfarm's standard PLA defaults.
OURS_SETTINGS = [
    "first_layer_line_width_mm=0.4",
    "top_line_width_mm=0.4",
    "retract_length_mm=5",
    "retract_speed=45",
    "retract_min_travel_mm=2",
]


@dataclass
class Run:
    tool: str
    wall_s: float
    cpu_s: float
    peak_mb: float
    layers: int | None = None
    filament_m: float | None = None
    print_s: float | None = None


def measure(
    command: list[str], env: dict[str, str] | None = None
) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds, peak resident MB and stdout+stderr of one run."""
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        child = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=env, cwd=REPO
        )
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode(errors="replace")
    if child.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({child.returncode}):\n{text[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, text


def median_run(
    tool: str, command: list[str], runs: int, env: dict[str, str] | None = None
) -> tuple[Run, str]:
    walls, cpus, peaks = [], [], []
    text = ""
    for _ in range(runs):
        wall, cpu, peak, text = measure(command, env)
        walls.append(wall)
        cpus.append(cpu)
        peaks.append(peak)
    return Run(tool, statistics.median(walls), statistics.median(cpus), max(peaks)), text


def ours(model: Path, out: Path, runs: int) -> Run:
    command = [
        sys.executable,
        "-m",
        "makerfarm_cli",
        "slice",
        str(model),
        "--profile",
        "generic-220",
        "--material",
        "PLA",
        "--quiet",
        "--json",
        "-o",
        str(out),
    ]
    for item in OURS_SETTINGS:
        command += ["--set", item]
    run, text = median_run("makerfarm", command, runs)
    summary = json.loads(text[text.index("{") :])
    run.layers = summary["layers"]
    run.filament_m = summary["filament_m"]
    run.print_s = summary["print_seconds"]
    return run


def prusa(model: Path, out: Path, runs: int) -> Run | None:
    binary = shutil.which("prusa-slicer")
    if not binary:
        return None
    command = [
        binary,
        "--export-gcode",
        "--load",
        str(SHARED / "reference" / "prusa_generic220_pla.ini"),
        "--center",
        "110,110",
        "-o",
        str(out),
        str(model),
    ]
    run, _text = median_run("PrusaSlicer", command, runs)
    gcode = out.read_text(errors="replace")
    run.layers = gcode.count(";LAYER_CHANGE")
    found = re.search(r"; filament used \[mm\] = ([\d.]+)", gcode)
    run.filament_m = float(found.group(1)) / 1000 if found else None
    found = re.search(r"; estimated printing time \(normal mode\) = (.+)", gcode)
    run.print_s = _duration(found.group(1)) if found else None
    return run


def cura(model: Path, out: Path, runs: int, resources: Path | None) -> Run | None:
    binary = shutil.which("CuraEngine")
    if not binary or resources is None:
        return None
    definitions = resources / "usr/share/cura/resources"
    env = dict(
        os.environ,
        CURA_ENGINE_SEARCH_PATH=":".join(
            [
                str(SHARED / "reference" / "cura"),
                str(definitions / "definitions"),
                str(definitions / "extruders"),
            ]
        ),
    )
    command = [
        binary,
        "slice",
        "-j",
        str(SHARED / "reference" / "cura" / "generic220.def.json"),
        "-o",
        str(out),
        "-l",
        str(model),
    ]
    run, _text = median_run("CuraEngine", command, runs, env)
    gcode = out.read_text(errors="replace")
    run.layers = len(re.findall(r"^;LAYER:\d+", gcode, re.M))
    # CuraEngine's command line prints its own estimates only with -v (which slows it
    # down), so its program is measured by makerfarm's G-code interpreter instead (*).
    from firmware_profiles import load_profile
    from firmware_profiles.gcode import analyze

    stats = analyze(gcode, load_profile("generic-220"), material="PLA")
    run.filament_m = stats.filament_mm / 1000
    run.print_s = stats.print_seconds
    run.tool = "CuraEngine*"
    return run


def cura_resources(given: Path | None) -> Path | None:
    if given:
        return given
    if not shutil.which("CuraEngine"):
        return None
    cache = Path.home() / ".cache" / "makerfarm-bench" / "cura"
    if (cache / "usr/share/cura/resources/definitions/fdmprinter.def.json").exists():
        return cache
    if not shutil.which("apt-get"):
        return None
    cache.mkdir(parents=True, exist_ok=True)
    fetched = subprocess.run(["apt-get", "download", "cura"], cwd=cache, capture_output=True)
    packages = sorted(cache.glob("cura_*.deb"))
    if fetched.returncode != 0 or not packages:
        print("(CuraEngine skipped: could not fetch Cura's definitions with apt-get download)")
        return None
    subprocess.run(["dpkg", "-x", str(packages[-1]), str(cache)], check=True)
    return cache


def _duration(text: str) -> float:
    total = 0.0
    for amount, unit in re.findall(r"(\d+)([dhms])", text):
        total += int(amount) * {"d": 86400, "h": 3600, "m": 60, "s": 1}[unit]
    return total


def _hms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = round(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", default=MODELS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cura-resources", type=Path, default=None)
    args = parser.parse_args()
    resources = cura_resources(args.cura_resources)
    header = (
        f"{'model':<22}{'tool':<13}{'wall s':>8}{'cpu s':>7}{'peak MB':>9}{'layers':>8}"
        f"{'filament m':>12}{'est. time':>11}{'ours/this':>11}"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.models:
            model = SHARED / "models" / f"{name}.stl"
            out = Path(scratch) / f"{name}.gcode"
            mine = ours(model, out, args.runs)
            rows = [mine, prusa(model, out, args.runs), cura(model, out, args.runs, resources)]
            for run in rows:
                if run is None:
                    continue
                ratio = "" if run is mine else f"{mine.wall_s / run.wall_s:.2f}"
                filament = "-" if run.filament_m is None else f"{run.filament_m:.2f}"
                print(
                    f"{name:<22}{run.tool:<13}{run.wall_s:>8.2f}{run.cpu_s:>7.2f}"
                    f"{run.peak_mb:>9.0f}"
                    f"{run.layers if run.layers is not None else '-':>8}{filament:>12}"
                    f"{_hms(run.print_s):>11}{ratio:>11}",
                    flush=True,
                )
    print(
        "\nwall s, cpu s (user + system): medians of",
        args.runs,
        "runs; peak MB: largest "
        "resident size of a run; ours/this: makerfarm's wall time over the tool's."
        "\nmakerfarm's and PrusaSlicer's filament and time are their own estimates; "
        "(*) CuraEngine's are makerfarm's interpreter reading CuraEngine's G-code.",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
