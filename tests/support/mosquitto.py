"""Start a real `mosquitto` on a free loopback port for tests.

The broker gets a configuration file written for it (anonymous access on
loopback unless the caller passes its own lines), and the fixture waits until
the port accepts connections before handing it out.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    config_path: Path
    log_path: Path

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mosquitto_binary() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    for candidate in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _wait_for_port(host: str, port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mosquitto exited with {proc.returncode}: {log.read_text()}")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            # Not listening yet: wait briefly on the process itself (an exit ends
            # the wait at once), then try the port again until the deadline.
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.05)
    raise RuntimeError(f"mosquitto did not listen on {host}:{port} within {START_TIMEOUT_S}s")


@contextmanager
def run_mosquitto(
    workdir: Path, extra_config: list[str] | None = None, port: int | None = None
) -> Iterator[Broker]:
    """Run mosquitto until the context exits. `extra_config` replaces the default
    anonymous-access lines (give it `allow_anonymous`, `password_file`, ...)."""
    binary = mosquitto_binary()
    if binary is None:
        raise FileNotFoundError("mosquitto")
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "mosquitto.conf"
    log = workdir / "mosquitto.log"
    lines = [
        f"listener {port} 127.0.0.1",
        "persistence false",
        f"log_dest file {log}",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "max_queued_messages 100000",
    ]
    extra = extra_config if extra_config is not None else ["allow_anonymous true"]
    if os.geteuid() == 0 and not any(line.split()[:1] == ["user"] for line in extra):
        # Run as root, mosquitto drops to the `mosquitto` user and can no longer write
        # its log into the test's (root-owned) temporary directory.
        lines.append("user root")
    lines += extra
    config.write_text("\n".join(lines) + "\n")
    proc = subprocess.Popen(
        [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        _wait_for_port("127.0.0.1", port, proc, log)
        yield Broker("127.0.0.1", port, config, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
