"""Scheduler benchmark: FarmBench's table (every class, makerfarm against both baselines).

Run from the repo root: `.venv/bin/python bench/scheduler_bench.py [--quick]`
(the same as `makerfarm farmbench run`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scheduler.farmbench.cli import configure, run


def main() -> int:
    parser = argparse.ArgumentParser(prog="scheduler_bench")
    configure(parser)
    return run(parser.parse_args(["run", *sys.argv[1:]]))


if __name__ == "__main__":
    sys.exit(main())
