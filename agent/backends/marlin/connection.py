"""The serial port of one Marlin-family printer: open it, say hello, and move lines.

`open_port()` opens the port (most boards reset when it opens: the DTR pulse, or an
explicit one when the profile says `reset_on_connect`). `SerialSession.hello()`
sends `M110 N0` until the firmware answers `ok` (a board that just reset spends a
second or two in its boot loader, and says `start` when it is up), then numbers lines
from 1. `SerialSession.step()` reads what arrived, hands each parsed line to the
`Listener`, and writes as many lines as the flow control allows, asking the
listener for the next command. The session never decides what to print; it only
keeps the link honest.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

import serial

from agent.backends.marlin.link import LineLink
from agent.backends.marlin.responses import (
    Busy,
    Echo,
    Ok,
    Resend,
    Response,
    Temperatures,
    parse_response,
)

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.02
MAX_LINE_BYTES = 4096  # longer "lines" are noise; drop them


class HelloFailed(Exception):
    """The firmware never answered `M110 N0`."""


class Listener(Protocol):
    def on_response(self, response: Response) -> None: ...

    def on_acked(self, tag: object) -> None: ...

    def next_command(self) -> tuple[str, object] | None: ...


def open_port(path: str, baudrate: int, *, reset: bool) -> serial.Serial:
    """Open the printer's port (SerialException / OSError when it is not there)."""
    port = serial.serial_for_url(
        path,
        baudrate=baudrate,
        timeout=READ_TIMEOUT_S,
        write_timeout=10,
        exclusive=True,
        do_not_open=True,
    )
    port.open()
    if reset:
        try:  # a DTR pulse resets Arduino-style boards; ptys and some adapters have no DTR
            port.dtr = False
            time.sleep(0.1)
            port.dtr = True
        except (OSError, serial.SerialException):
            pass
    port.reset_input_buffer()
    return port


class SerialSession:
    def __init__(
        self,
        port: serial.Serial,
        link: LineLink[object],
        listener: Listener,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.port = port
        self.link = link
        self.listener = listener
        self.clock = clock
        self._buffer = bytearray()
        self._held: tuple[str, object] | None = None  # taken, waiting for room
        self.bytes_in = self.bytes_out = 0

    # -- hello -------------------------------------------------------------------------

    def hello(self, timeout_s: float, interval_s: float = 1.0) -> list[Response]:
        """Say `M110 N0` until the first `ok`; returns what the firmware said before it."""
        said: list[Response] = []
        deadline = self.clock() + timeout_s
        while self.clock() < deadline:
            self._write(b"M110 N0\n")
            answer_by = min(deadline, self.clock() + interval_s)
            while self.clock() < answer_by:
                for response in self._read():
                    if isinstance(response, Ok):
                        self._settle()
                        self.link.reset(1, self.clock())
                        return said
                    said.append(response)
        raise HelloFailed(f"no answer to M110 within {timeout_s:g} s")

    def _settle(self) -> None:
        """Discard the answers to repeated hellos the firmware may still be sending."""
        quiet_until = self.clock() + 0.3
        while self.clock() < quiet_until:
            for response in self._read():
                if not isinstance(response, Ok):
                    self.listener.on_response(response)
                quiet_until = self.clock() + 0.3

    # -- the steady state --------------------------------------------------------------

    def step(self) -> None:
        """One round: read and handle what arrived, then send what may be sent."""
        now = self.clock()
        for response in self._read():
            self._handle(response, now)
        for tag in self.link.take():
            self.listener.on_acked(tag)
        timeout_s = self.link.timeout_s
        if self.link.check_timeout(self.clock()):
            log.warning("no answer from the printer for %.2f s; sending the line again", timeout_s)
        self._send()

    def _handle(self, response: Response, now: float) -> None:
        if isinstance(response, Ok):
            self.link.on_ok(response.line_number, now)
            if response.temperatures is not None:
                self.listener.on_response(response.temperatures)
            return
        if isinstance(response, Resend):
            log.info("the printer asks for line %d again", response.line_number)
            self.link.on_resend(response.line_number, now)
        elif isinstance(response, Busy) or (
            isinstance(response, Temperatures) and response.waiting
        ):
            self.link.on_keepalive(now)
        elif isinstance(response, Echo) and response.text.startswith("M113 S"):
            seconds = _keepalive_seconds(response.text)
            if seconds is not None:
                self.link.keepalive_interval(seconds)
        self.listener.on_response(response)

    def _send(self) -> None:
        out = bytearray()
        now = self.clock()
        while True:
            again = self.link.next_resend(now)
            if again is not None:
                out += again
                continue
            if self.link.retransmitting or not self.link.has_room():
                break
            command = self._held or self.listener.next_command()
            if command is None:
                break
            if not self.link.has_room(self.link.frame_size(command[0])):
                self._held = command  # it goes out when the buffer has room for it
                break
            self._held = None
            out += self.link.send(command[0], command[1], now)
        if out:
            self._write(bytes(out))

    # -- bytes -------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        self.port.write(data)
        self.bytes_out += len(data)

    def _read(self) -> list[Response]:
        waiting = self.port.in_waiting
        chunk = self.port.read(waiting or 1)
        if not chunk:
            return []
        self.bytes_in += len(chunk)
        self._buffer += chunk
        responses: list[Response] = []
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > MAX_LINE_BYTES:
                    self._buffer.clear()
                break
            raw = bytes(self._buffer[:end]).decode("ascii", "replace").strip()
            del self._buffer[: end + 1]
            if raw:
                responses.append(parse_response(raw))
        return responses


def _keepalive_seconds(text: str) -> float | None:
    """The interval of M113's report `M113 S2` (HOST_KEEPALIVE_FEATURE)."""
    try:
        seconds = float(text[len("M113 S") :].split()[0])
    except (ValueError, IndexError):
        return None
    return seconds if seconds > 0 else None
