"""The embedded broker of `makerfarm controller` and `makerfarm demo` listens on loopback
only, and both say so when they start: other machines cannot reach it, so it needs no
password. The listening sockets are read from the kernel's table (/proc/net/tcp, tcp6)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
START_S = 60.0
LISTEN = "0A"  # the kernel's code for a listening TCP socket


def listening_addresses(port: int) -> list[str]:
    """The local addresses (hex, as the kernel writes them) of TCP sockets listening on
    `port`, IPv4 and IPv6."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port and fields[3] == LISTEN:
                found.append(address)
    return found


LOOPBACK_V4 = "0100007F"  # 127.0.0.1, little-endian hex


class Started:
    """A makerfarm subcommand run as a child; its output lines, read as they come."""

    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "makerfarm_cli", *args],
            cwd=REPO,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self.lines.append("")  # end of output
            self._changed.notify_all()

    def wait_for(self, pattern: str) -> re.Match[str]:
        """The first output line matching `pattern` (bounded wait)."""
        regex = re.compile(pattern)

        def found() -> re.Match[str] | None:
            return next((m for m in map(regex.search, self.lines) if m), None)

        with self._changed:
            if not self._changed.wait_for(
                lambda: (
                    found() is not None
                    or (self.proc.poll() is not None and self.lines[-1:] == [""])
                ),
                START_S,
            ):
                raise AssertionError(f"no line matching {pattern!r} within {START_S} s")
            match = found()
        assert match is not None, "exited without it:\n" + "\n".join(self.lines[-30:])
        return match

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)


@pytest.fixture
def start() -> Iterator[list[Started]]:
    started: list[Started] = []
    yield started
    for child in started:
        child.stop()


def test_the_controllers_embedded_broker_listens_on_loopback_only_and_says_so(
    start: list[Started], tmp_path: Path
) -> None:
    controller = Started(["controller", "--port", "0", "--data", str(tmp_path), "--workers", "1"])
    start.append(controller)
    said = controller.wait_for(
        r"no --broker given; starting an embedded broker on (\S+) "
        r"\((loopback only)"
    )
    assert said.group(1) == "127.0.0.1"
    logged = controller.wait_for(r'"event": "embedded broker listening \(loopback only\)"')
    port = int(json.loads(logged.string)["url"].rsplit(":", 1)[1])
    assert listening_addresses(port) == [LOOPBACK_V4]


def test_the_demos_embedded_broker_listens_on_loopback_only_and_says_so(
    start: list[Started], tmp_path: Path
) -> None:
    demo = Started(["demo", "--headless", "--jobs", "1", "--data", str(tmp_path)])
    start.append(demo)
    said = demo.wait_for(
        r"demo: broker mqtt://127\.0\.0\.1:(\d+) \(embedded broker, "
        r"loopback only\)"
    )
    assert listening_addresses(int(said.group(1))) == [LOOPBACK_V4]
