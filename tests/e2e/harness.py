"""Run the controller for tests: in a thread of this process, or as a process to kill.

`ControllerThread` runs `ControllerService` on its own event loop in a background thread
and stops it cleanly (the same path as SIGTERM). `ControllerProcess` runs
`makerfarm controller` as a child process, so a test can `kill -9` it and start it again
on the same database and data directory.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from controller.config import ControllerSettings
from controller.service import ControllerService

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")


class ControllerThread:
    def __init__(self, settings: ControllerSettings) -> None:
        self.settings = settings
        self.service = ControllerService(settings)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="controller", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            runner = asyncio.create_task(self.service.run(self._stop))
            ready = asyncio.create_task(self.service.ready.wait())
            await asyncio.wait({runner, ready}, return_when=asyncio.FIRST_COMPLETED)
            self._started.set()
            await runner

        try:
            asyncio.run(main())
        except BaseException as exc:  # handed to the test thread
            self._error = exc
            self._started.set()

    def __enter__(self) -> ControllerThread:
        self._thread.start()
        if not self._started.wait(60):
            raise RuntimeError("the controller did not start within 60 s")
        if self._error is not None:
            raise RuntimeError("the controller failed to start") from self._error
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)
        if self._thread.is_alive():
            raise RuntimeError("the controller did not stop within 60 s")
        if self._error is not None:
            raise RuntimeError("the controller failed") from self._error

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the controller's loop (to read a component's counters safely)."""
        assert self._loop is not None
        result: list[T] = []
        done = threading.Event()

        def run() -> None:
            result.append(fn())
            done.set()

        self._loop.call_soon_threadsafe(run)
        if not done.wait(10):
            raise RuntimeError("the controller loop did not answer")
        return result[0]


class ControllerProcess:
    """`makerfarm controller` as a child process; `kill()` is kill -9."""

    def __init__(self, args: list[str], log_path: Path) -> None:
        self.args = args
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it open
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "makerfarm_cli", "controller", *self.args],
            cwd=REPO,
            stdout=log,
            stderr=log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()

    def wait_until_logged(self, text: str, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if text in self.log_path.read_text(errors="replace"):
                return
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the controller exited with {self.proc.returncode}:\n"
                    + self.log_path.read_text(errors="replace")[-3000:]
                )
            time.sleep(0.1)  # polling a log file: there is no event to wait on
        raise RuntimeError(f"the controller did not log {text!r} within {timeout_s} s")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def terminate(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
                raise
        return self.proc.returncode
