"""A Marlin printer on a pseudo-terminal, for the serial back-end's tests and bench.

`MarlinPeer` opens a pty (`os.openpty()`); the back-end opens `peer.path` with
pyserial as it would `/dev/ttyACM0`. The peer reads lines like Marlin's GCodeQueue:
bytes land in a receive buffer of `rx_buffer` bytes (RX_BUFFER_SIZE, 128: the ring
keeps 127) and bytes arriving while it is full are lost, counted in
`counters.overflow_bytes`; complete lines move into a command queue of `bufsize`
slots (BUFSIZE, 4) while it has room, and each is checked on the way (number and
checksum): a bad one is answered at once with `Error:` + `Resend: N` (followed by
`ok` like Marlin 2.0, or not, `resend_ok=False`) while the good lines queued before
it still run. The firmware executes the queue one command per loop, records each in
`executed` and answers `ok` (with `advanced_ok`, Marlin's ADVANCED_OK form
`ok N<line> P<planner slots free> B<queue slots free>`). Nothing is read while a
command blocks (homing, a busy period, a filament change), so a host that sends
more than the receive buffer holds loses bytes then, as with a real Marlin. It
speaks M110, M113, M115 (with `Cap:` lines), M105, M155 auto-report,
M104/M109/M140/M190, M486, M600 (waits for `operator_done()`) and M400.

Faults, for the tests that prove the link survives them: every `fault_every`-th line
gets the next fault of `faults` in turn (a checksum error, a line dropped with no
answer, an `ok` lost, a busy period with `busy:` keep-alives, a `//action:` line, an
echo). `thermal_runaway()` halts it like Marlin's thermal protection; `action()`
sends a `//action:` line; `halt_after` stops it after so many lines.

`baudrate` makes it as slow as a real link: every byte in either direction takes
10 bits of wire time (8N1), so the bench can compare lines per second with what the
link can carry. The pty itself is instantaneous.
"""

from __future__ import annotations

import os
import select
import threading
import time
import tty
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import reduce
from operator import xor

FAULTS = ("checksum", "drop", "lost_ok", "busy", "action", "echo")

CAPS = {
    "AUTOREPORT_TEMP": True,
    "BUILD_PERCENT": True,
    "EMERGENCY_PARSER": True,
    "PROMPT_SUPPORT": True,
    "EEPROM": True,
}


@dataclass
class PeerCounters:
    lines_in: int = 0
    checksum_errors: int = 0
    line_number_errors: int = 0
    overflow_bytes: int = 0  # bytes lost because the receive buffer was full
    faults: dict[str, int] = field(default_factory=dict)


class MarlinPeer:
    def __init__(
        self,
        *,
        resend_ok: bool = True,
        baudrate: int | None = None,
        fault_every: int = 0,
        faults: tuple[str, ...] = FAULTS,
        caps: dict[str, bool] | None = None,
        firmware: str = "Marlin 2.1.2.4",
        advanced_ok: bool = False,
        busy_s: float = 0.3,
        keepalive_s: float = 0.1,
        halt_after: int | None = None,
        boot_lines: tuple[str, ...] = ("start",),
        report_speedup: float = 20.0,
        rx_buffer: int | None = 128,
        bufsize: int = 4,
        planner_free: int = 15,
    ) -> None:
        self.resend_ok = resend_ok
        self.baudrate = baudrate
        self.fault_every = fault_every
        self.faults = faults
        self.caps = CAPS if caps is None else caps
        self.firmware = firmware
        self.advanced_ok = advanced_ok
        self.busy_s = busy_s
        self.keepalive_s = keepalive_s
        self.halt_after = halt_after
        self.boot_lines = boot_lines
        self.report_speedup = report_speedup  # M155 S2 reports every 2 s / this
        self.rx_buffer = rx_buffer  # RX_BUFFER_SIZE; None: unbounded
        self.bufsize = bufsize  # BUFSIZE: the command queue's slots
        self.planner_free = planner_free  # ADVANCED_OK's P figure
        self.executed: list[str] = []
        self.counters = PeerCounters()
        self.hotend = [21.0, 0.0]
        self.bed = [20.5, 0.0]
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._last_n = 0  # the last line number taken into the queue
        self._ran_n = 0  # the last line number executed
        self._byte_s = 10 / baudrate if baudrate else 0.0
        self._wire: deque[tuple[float, bytes]] = deque()  # (first byte's start, bytes)
        self._rx = bytearray()  # the receive buffer: arrived, not yet in the queue
        self._queue: deque[tuple[str, int | None, str | None]] = deque()  # BUFSIZE slots
        self._seen = 0  # numbered lines received, for the fault schedule
        self._fault_turn = 0
        self._autoreport_s = 0.0
        self._next_report = 0.0
        self._halted = False
        self._waiting_for_operator = False
        self._operator_done = threading.Event()
        self._busy_until = 0.0
        self._wire_in = self._wire_out = 0.0
        self._outgoing: deque[tuple[float, bytes]] = deque()  # (due, bytes) on the wire
        self._out_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="marlin-peer", daemon=True)
        self.changed = threading.Condition()

    # -- life cycle --------------------------------------------------------------------

    def start(self) -> MarlinPeer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._operator_done.set()
        self._thread.join(timeout=5)
        for fd in (self._master, self._slave):
            with suppress(OSError):
                os.close(fd)

    def unplug(self) -> None:
        """The USB cable is pulled: the port goes away under the agent."""
        self.close()

    # -- what a test does to the printer -----------------------------------------------

    def thermal_runaway(self) -> None:
        self._send("Error:Thermal Runaway, system stopped! Heater_ID: 0")
        self._send("Error:Printer halted. kill() called!")
        self._halted = True

    def action(self, name: str) -> None:
        self._send(f"//action:{name}")

    def operator_done(self) -> None:
        """The person at the printer finished the filament change."""
        self._operator_done.set()

    def wait_until(self, predicate: object, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(predicate, timeout)  # type: ignore[arg-type]

    # -- the printer's loop ------------------------------------------------------------

    def _serve(self) -> None:
        for line in self.boot_lines:
            self._send(line)
        while not self._stop.is_set():
            self._report_temperatures()
            self._flush_output()
            try:
                self._receive(self._next_wait())
            except OSError:
                return
            self._take_arrived(time.monotonic())
            self._read_commands()
            if self._queue and not self._stop.is_set():
                self._execute(*self._queue.popleft())
                with self.changed:
                    self.changed.notify_all()

    def _next_wait(self) -> float:
        if self._queue:
            return 0.0
        now = time.monotonic()
        wait = 0.01
        line_end = self._next_line_end()
        if line_end is not None:
            wait = min(wait, line_end - now)
        if self._outgoing:
            wait = min(wait, self._outgoing[0][0] - now)
        return max(0.0, wait)

    def _receive(self, wait: float) -> None:
        """Put what the host wrote on the wire: each byte arrives 10 bits after the last."""
        ready, _, _ = select.select([self._master], [], [], wait)
        if not ready:
            return
        chunk = os.read(self._master, 4096)
        start = max(self._wire_in, time.monotonic())
        self._wire_in = start + len(chunk) * self._byte_s
        self._wire.append((start, chunk))

    def _next_line_end(self) -> float | None:
        """When the next line ending comes off the wire."""
        for start, chunk in self._wire:
            end = chunk.find(b"\n")
            if end >= 0:
                return start + (end + 1) * self._byte_s
        return None

    def _take_arrived(self, now: float) -> None:
        """Move the bytes off the wire into the receive buffer; past RX_BUFFER_SIZE - 1
        bytes (Marlin's ring buffer keeps one slot free) they are lost, like Marlin's."""
        while self._wire:
            start, chunk = self._wire[0]
            count = (
                len(chunk)
                if not self._byte_s
                else min(len(chunk), int((now - start) / self._byte_s + 1e-9))
            )
            if count <= 0:
                return
            if count == len(chunk):
                self._wire.popleft()
            else:
                self._wire[0] = (start + count * self._byte_s, chunk[count:])
            room = self.rx_buffer - 1 - len(self._rx) if self.rx_buffer else count
            self._rx += chunk[: max(0, min(room, count))]
            if count > room:
                self.counters.overflow_bytes += count - max(0, room)
            if count < len(chunk):
                return

    def _read_commands(self) -> None:
        """Marlin's get_serial_commands: complete lines go from the receive buffer into
        the command queue (BUFSIZE slots), checked as they go; a bad line is answered at
        once with Error/Resend, while the good ones before it still wait their turn."""
        while len(self._queue) < self.bufsize and not self._halted:
            end = self._rx.find(b"\n")
            if end < 0:
                return
            raw = bytes(self._rx[:end]).decode("ascii", "replace").strip()
            del self._rx[: end + 1]
            self._read_line(raw)

    def _read_line(self, line: str) -> None:
        if not line or self._halted:
            return
        if not line.startswith("N"):
            self._queue.append((line, None, None))
            return
        self._seen += 1
        self.counters.lines_in += 1
        fault = self._fault_for_this_line()
        if fault == "drop":
            return
        number_text, _, rest = line[1:].partition(" ")
        command, star, sent_sum = rest.partition("*")
        body = line.split("*", 1)[0]
        number = int(number_text) if number_text.isdigit() else -1
        if not star:
            return self._refuse(f"No Checksum with line number, Last Line: {self._last_n}")
        if (
            fault == "checksum"
            or not sent_sum.strip().isdigit()
            or int(sent_sum) != reduce(xor, body.encode(), 0)
        ):
            self.counters.checksum_errors += 1
            return self._refuse(f"checksum mismatch, Last Line: {self._last_n}")
        command = command.strip()
        if number != self._last_n + 1 and not command.startswith("M110"):
            self.counters.line_number_errors += 1
            return self._refuse(f"Line Number is not Last Line Number+1, Last Line: {self._last_n}")
        self._last_n = number
        self._queue.append((command, number, fault))

    def _refuse(self, error: str) -> None:
        self._send(f"Error:{error}")
        self._send(f"Resend: {self._last_n + 1}")
        if self.resend_ok:  # ok_to_send() names the command at the queue's head, if any
            self._send(self._ok_text(self._queue[0][1] if self._queue else self._ran_n))

    def _ok_text(self, number: int | None) -> str:
        if not self.advanced_ok:
            return "ok"
        free = max(0, self.bufsize - 1 - len(self._queue))
        named = f" N{number}" if number is not None else ""
        return f"ok{named} P{self.planner_free} B{free}"

    def _fault_for_this_line(self) -> str | None:
        if not self.fault_every or self._seen % self.fault_every:
            return None
        fault = self.faults[self._fault_turn % len(self.faults)]
        self._fault_turn += 1
        self.counters.faults[fault] = self.counters.faults.get(fault, 0) + 1
        return fault

    # -- commands ----------------------------------------------------------------------

    def _execute(self, command: str, number: int | None, fault: str | None) -> None:
        if self._halted:
            return
        self.executed.append(command)
        if number is not None:
            self._ran_n = number
        word = command.split(None, 1)[0].upper() if command else ""
        answer = _ANSWERS.get(word)
        extra = answer(self, command) if answer is not None else None
        if fault == "busy" or word in ("G28", "G29"):
            self._keep_busy("processing", time.monotonic() + self.busy_s)
        elif fault == "action":
            self._send("//action:notification Layer 12/80")
        elif fault == "echo":
            self._send('echo:Unknown command: "M9999"')
        if word == "M600":
            self._filament_change()
        if self.halt_after is not None and len(self.executed) >= self.halt_after:
            self.thermal_runaway()
            return
        if fault == "lost_ok":
            return
        ok = self._ok_text(number)
        self._send(f"{ok} {extra}" if extra else ok)

    def _keep_busy(self, reason: str, until: float) -> None:
        while time.monotonic() < until and not self._stop.is_set():
            self._send(f"echo:busy: {reason}")
            self._flush_output(wait=True)
            self._stop.wait(min(self.keepalive_s, max(0.0, until - time.monotonic())))

    def _filament_change(self) -> None:
        self._send("//action:paused")
        self._send("//action:prompt_begin Filament change: insert filament and continue")
        self._send("//action:prompt_show")
        self._operator_done.clear()
        self._flush_output(wait=True)
        while not self._operator_done.wait(self.keepalive_s):
            self._send("echo:busy: paused for user")
            self._flush_output(wait=True)
        self._send("//action:prompt_end")
        self._send("//action:resumed")

    def _temperature_text(self) -> str:
        hotend, bed = self.hotend, self.bed
        return f"T:{hotend[0]:.2f} /{hotend[1]:.2f} B:{bed[0]:.2f} /{bed[1]:.2f} @:0 B@:0"

    def _report_temperatures(self) -> None:
        if self._autoreport_s and time.monotonic() >= self._next_report and not self._halted:
            self._next_report = time.monotonic() + self._autoreport_s
            self._send(" " + self._temperature_text())

    def _m115(self, command: str) -> None:
        self._send(
            f"FIRMWARE_NAME:{self.firmware} (Github) SOURCE_CODE_URL:github.com/"
            "MarlinFirmware/Marlin PROTOCOL_VERSION:1.0 MACHINE_TYPE:Peer "
            "EXTRUDER_COUNT:1 UUID:cede2a2f-41a2-4748-9b12-c55c62f367ff"
        )
        for name, enabled in self.caps.items():
            self._send(f"Cap:{name}:{int(enabled)}")

    def _m155(self, command: str) -> None:
        seconds = _number(command, "S") or 0.0
        self._autoreport_s = seconds / self.report_speedup
        self._next_report = 0.0

    def _set_hotend(self, command: str) -> None:
        self.hotend[1] = _number(command, "S") or 0.0
        if command.upper().startswith("M109"):
            self.hotend[0] = self.hotend[1]
            self._send(f" T:{self.hotend[0]:.1f} E:0 W:?")

    def _set_bed(self, command: str) -> None:
        self.bed[1] = _number(command, "S") or 0.0
        if command.upper().startswith("M190"):
            self.bed[0] = self.bed[1]

    def _m105(self, command: str) -> str:
        return self._temperature_text()

    def _m113(self, command: str) -> None:
        """HOST_KEEPALIVE_FEATURE: without S, M113 reports the keep-alive interval."""
        seconds = _number(command, "S")
        if seconds is not None:
            self.keepalive_s = seconds
        else:
            self._send(f"echo:M113 S{self.keepalive_s:g}")

    def _m110(self, command: str) -> None:
        self._last_n = int(_number(command, "N") or 0)

    # -- the wire ----------------------------------------------------------------------

    def _send(self, text: str) -> None:
        """Queue a line; it reaches the host when the wire has carried it."""
        data = (text + "\n").encode()
        with self._out_lock:
            byte_s = 10 / self.baudrate if self.baudrate else 0.0
            self._wire_out = max(self._wire_out, time.monotonic()) + len(data) * byte_s
            self._outgoing.append((self._wire_out, data))
        if threading.current_thread() is not self._thread or not self.baudrate:
            self._flush_output(wait=threading.current_thread() is not self._thread)

    def _flush_output(self, wait: bool = False) -> None:
        with self._out_lock:
            while self._outgoing:
                due, data = self._outgoing[0]
                delay = due - time.monotonic()
                if delay > 0 and not wait:
                    return
                if delay > 0:
                    time.sleep(delay)
                self._outgoing.popleft()
                with suppress(OSError):
                    os.write(self._master, data)


def _number(command: str, letter: str) -> float | None:
    for word in command.split()[1:]:
        if word[:1].upper() == letter:
            try:
                return float(word[1:])
            except ValueError:
                return None
    return None


_ANSWERS = {
    "M115": MarlinPeer._m115,
    "M155": MarlinPeer._m155,
    "M104": MarlinPeer._set_hotend,
    "M109": MarlinPeer._set_hotend,
    "M140": MarlinPeer._set_bed,
    "M190": MarlinPeer._set_bed,
    "M105": MarlinPeer._m105,
    "M110": MarlinPeer._m110,
    "M113": MarlinPeer._m113,
}


@contextmanager
def marlin_peer(**options: object) -> Iterator[MarlinPeer]:
    peer = MarlinPeer(**options).start()  # type: ignore[arg-type]
    try:
        yield peer
    finally:
        peer.close()
