"""The controller's worker processes end with the controller, even after kill -9."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CONTROLLER = """
import asyncio, os, sys
from controller.process_pool import ProcessPool

async def main():
    pool = ProcessPool(workers=1)
    await pool.start()
    worker_pid = await pool.run(os.getpid)
    print(worker_pid, flush=True)
    sys.stdin.readline()  # hold until the test kills us

asyncio.run(main())
"""


def test_workers_exit_when_the_controller_is_killed() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", CONTROLLER],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "the pool did not report its worker within 60 s"
        worker_pid = int(proc.stdout.readline())
        worker = os.pidfd_open(worker_pid)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    gone, _, _ = select.select([worker], [], [], 20)
    os.close(worker)
    assert gone, f"worker {worker_pid} still runs 20 s after its controller was killed"
