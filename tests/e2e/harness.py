"""Run the controller for tests: in a thread of this process, or as a process to kill.

`ControllerThread` runs `ControllerService` on its own event loop in a background thread
and stops it cleanly (the same path as SIGTERM). `ControllerProcess` runs
`makerfarm controller` as a child process, so a test can `kill -9` it and start it again
on the same database and data directory.

For fault injection (tests/reliability): `Mosquitto` is a broker with persistence on a fixed
port that can be stopped, killed and started again; `TcpProxy` relays a connection (a site
broker's bridge) and can cut it; `AgentProcess` runs `makerfarm agent` as a child process
(its simulated printer dies with it under `kill -9`), configured by `agent_toml`;
`RecordingStaff` notes when staff sent each bed clear.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from controller.config import BrokerAddress, ControllerSettings
from controller.demo_staff import SimulatedStaff
from controller.service import ControllerService
from protocol.base import Message
from protocol.messages.staff import StaffBedCleared
from tests.support.mosquitto import free_port, mosquitto_binary

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
        self._log_start = 0  # where this run's lines begin in the log

    def start(self) -> None:
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it open
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "makerfarm_cli", "controller", *self.args],
            cwd=REPO,
            stdout=log,
            stderr=log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()

    def logged_since_start(self) -> str:
        """The log lines of the current run (not of the runs before a restart)."""
        with open(self.log_path, "rb") as log:
            log.seek(self._log_start)
            return log.read().decode(errors="replace")

    def wait_until_logged(self, text: str, timeout_s: float = 60.0) -> None:
        """Wait until the current run (since the last `start()`) logs `text`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if text in self.logged_since_start():
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


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll `condition` (a file or another process: nothing to wait on) until it holds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout_s:g} s")
        time.sleep(0.05)


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Mosquitto:
    """A mosquitto on a fixed loopback port that can be stopped, killed and started again
    with its persistence (sessions, queued QoS 1 messages, retained states) on disk.
    `extra` lines are appended to the configuration (a bridge, for a site broker)."""

    def __init__(self, workdir: Path, extra: list[str] | None = None) -> None:
        binary = mosquitto_binary()
        if binary is None:
            raise FileNotFoundError("mosquitto (apt-get install -y mosquitto)")
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.host = "127.0.0.1"
        self.log_path = workdir / "mosquitto.log"
        self.config_path = workdir / "mosquitto.conf"
        store = workdir / "persistence"
        store.mkdir(parents=True, exist_ok=True)
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "persistence true",
            f"persistence_location {store}/",
            "autosave_interval 1",
            "max_queued_messages 100000",
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if os.geteuid() == 0:
            lines.append("user root")
        self.config_path.write_text("\n".join([*lines, *(extra or [])]) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while not _port_open(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"mosquitto did not listen on {self.port}: "
                    + self.log_path.read_text(errors="replace")[-2000:]
                )
            time.sleep(0.02)

    def stop(self) -> None:
        """SIGTERM: mosquitto writes its persistence file and exits."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def restart(self, down_s: float = 0.0) -> None:
        self.stop()
        if down_s:
            time.sleep(down_s)  # the outage itself is what is being tested
        self.start()
        self.restarts += 1

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class TcpProxy:
    """A TCP relay the test controls: `cut()` drops every connection and refuses new ones
    (the link is gone), `restore()` lets connections through again."""

    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (host, target_port)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self._up = threading.Event()
        self._up.set()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._closed = False
        self.cuts = 0
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if not self._up.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets |= {client, upstream}
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data or not self._up.is_set():
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            with self._lock:
                self._sockets -= {src, dst}

    def cut(self) -> None:
        self._up.clear()
        self.cuts += 1
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        self._up.set()

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._server.close()


class AgentProcess:
    """`makerfarm agent --config FILE` as a child process; `kill()` is kill -9 (the Pi loses
    power: the simulated printer on it stops with it)."""

    def __init__(self, config_path: Path, log_path: Path) -> None:
        self.config_path = config_path
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it open
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "makerfarm_cli", "agent", "--config", str(self.config_path)],
            cwd=REPO,
            stdout=log,
            stderr=log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def terminate(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        return self.proc.returncode


def agent_toml(config: Any) -> str:
    """An AgentConfig (pydantic) as the TOML file `makerfarm agent --config` reads."""

    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        return json.dumps(str(v))

    data = config.model_dump(mode="json", exclude_none=True)
    backend = data.pop("backend")
    broker = data.pop("broker")
    faults = backend.pop("faults", [])
    lines = [f"{key} = {value(v)}" for key, v in data.items()]
    lines += ["", "[broker]", *(f"{key} = {value(v)}" for key, v in broker.items())]
    lines += ["", "[backend]", *(f"{key} = {value(v)}" for key, v in backend.items())]
    for fault in faults:
        lines += ["", "[[backend.faults]]", *(f"{key} = {value(v)}" for key, v in fault.items())]
    return "\n".join(lines) + "\n"


class RecordingStaff(SimulatedStaff):
    """The simulated staff, also noting when each bed clear was sent: the moment the bed
    was emptied, whether or not the controller's answer survived a crash of the controller
    (`tests.reliability.evidence.accepted_clears` keeps the ones it accepted)."""

    def __init__(self, broker: BrokerAddress) -> None:
        super().__init__(broker)
        self.clears_sent: list[tuple[str, str, str, datetime]] = []  # site, printer, id, at

    def __enter__(self) -> RecordingStaff:
        super().__enter__()
        return self

    def _send(self, site: str, printer: str, command: Message) -> None:
        if isinstance(command, StaffBedCleared):
            with self._lock:
                self.clears_sent.append((site, printer, command.command_id, datetime.now(UTC)))
        super()._send(site, printer, command)
