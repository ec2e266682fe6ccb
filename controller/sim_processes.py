"""The processes a simulated farm runs in: mosquitto, the controller, the printers' swarm.

Each is a context manager that starts the process, waits (bounded) until it is ready and
stops it with SIGTERM on exit (SIGKILL if it does not go within its time). Used by
`makerfarm sim` and the benchmarks in `bench/`; the swarm and the controller are started as
`python -m makerfarm_cli ...`, so they run the installed code and never share a core (or a
GIL) with the process that measures them.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from controller.config import BrokerAddress

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "makerfarm_cli", *args]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Process:
    name = "process"

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Any:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.terminate()

    def terminate(self) -> int | None:
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def _check_alive(self, log_path: Path) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:] if log_path.exists() else ""
            raise RuntimeError(
                f"the {self.name} exited with status {self.proc.returncode} "
                f"during start-up; its log ({log_path}) ends:\n{tail}"
            )


class MosquittoProcess(_Process):
    """A mosquitto on a free loopback port, anonymous, sized for thousands of clients."""

    name = "broker (mosquitto)"

    def __init__(self, workdir: Path) -> None:
        super().__init__()
        binary = shutil.which("mosquitto") or next(
            (
                p
                for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")
                if os.access(p, os.X_OK)
            ),
            None,
        )
        if binary is None:
            raise RuntimeError(
                "mosquitto is not installed: install it (apt-get install "
                "mosquitto) or give --broker mqtt://host:port"
            )
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.log_path = workdir / "mosquitto.log"
        config = workdir / "mosquitto.conf"
        config.write_text(
            "\n".join(
                [
                    f"listener {self.port} 127.0.0.1",
                    "allow_anonymous true",
                    "persistence false",
                    "max_queued_messages 100000",
                    # the controller acknowledges thousands of states a second: a window of
                    # 20 (the default) or 100 unacknowledged messages caps it at window / RTT
                    "max_inflight_messages 1000",
                    f"log_dest file {self.log_path}",
                    "log_type error",
                    "log_type warning",
                    "",
                ]
            )
        )
        self.proc = subprocess.Popen(
            [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 10
        while True:
            self._check_alive(self.log_path)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.terminate()
                    raise RuntimeError(f"mosquitto did not listen on port {self.port}") from None
                time.sleep(0.05)

    @property
    def address(self) -> BrokerAddress:
        return BrokerAddress(host="127.0.0.1", port=self.port)


class ControllerProcess(_Process):
    """`makerfarm controller` on a broker; ready once it logs `controller running`."""

    name = "controller"

    def __init__(
        self,
        broker_url: str,
        data: Path,
        farm: Path | None,
        db_url: str | None,
        *extra: str,
        log_name: str = "controller.log",
    ) -> None:
        super().__init__()
        self.log_path = data / log_name
        args = [
            "controller",
            "--broker",
            broker_url,
            "--data",
            str(data / "controller"),
            "--log-level",
            "info",
            *extra,
        ]
        if farm is not None:
            args += ["--farm", str(farm)]
        if db_url:
            args += ["--db", db_url]
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(_cli(*args), stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while b'"controller running"' not in self.log_path.read_bytes():
            self._check_alive(self.log_path)
            if time.monotonic() > deadline:
                self.terminate()
                raise RuntimeError(
                    f"the controller was not running after {START_TIMEOUT_S:g} s; "
                    f"see {self.log_path}"
                )
            time.sleep(0.1)

    def terminate(self) -> int | None:
        code = super().terminate()
        self._log.close()
        return code


class SwarmProcess(_Process):
    """`makerfarm swarm` for a roster; ready once every printer is connected."""

    name = "swarm of simulated printers"

    def __init__(
        self,
        broker_url: str,
        roster: Path,
        speed: float,
        plate_failure_rate: float,
        seed: int,
        *extra: str,
        log_path: Path,
    ) -> None:
        super().__init__()
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            _cli(
                "swarm",
                "--broker",
                broker_url,
                "--roster",
                str(roster),
                "--speed",
                str(speed),
                "--plate-failure-rate",
                str(plate_failure_rate),
                "--seed",
                str(seed),
                *extra,
            ),
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        assert self.proc.stdout is not None
        self.ready = self._read_line(self.proc.stdout, "ready")

    def _read_line(self, stream: IO[bytes], key: str) -> dict[str, Any]:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            readable, _, _ = select.select([stream], [], [], 0.5)
            if readable:
                line = stream.readline()
                if not line:
                    break
                message = json.loads(line)
                if key in message:
                    return dict(message[key])
            self._check_alive(self.log_path)
        self._check_alive(self.log_path)
        raise RuntimeError(f"the swarm gave no {key!r} line; see {self.log_path}")

    def stop(self) -> dict[str, Any]:
        """Stop the printers; what they did."""
        proc = self.proc
        if proc is None or proc.stdout is None:
            return {}
        proc.send_signal(signal.SIGTERM)
        summary = self._read_line(proc.stdout, "summary")
        self.terminate()
        return summary

    def terminate(self) -> int | None:
        code = super().terminate()
        self._log.close()
        return code
