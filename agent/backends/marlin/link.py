"""The line protocol of a Marlin-family printer, without the I/O: numbered, checksummed
lines, ok-based flow control, the resend history and the timeout for lost answers.

Every line goes out as `N<number> <command>*<checksum>`; the firmware executes a
line only if its number follows the last one it executed and the checksum holds, so
a line is never executed twice and never out of order. What can go wrong on the wire
is repaired here:

- `Resend: N` / `rs N`: the firmware discarded lines from N on; they go out again
  from the history. Marlin answers a bad line with `Resend` and then `ok` (`resend_ok`);
  some builds leave the `ok` out. Lines already in flight after a bad one each earn
  their own `Resend: N` for the same N; those echoes do not rewind twice.
- a line or its answer lost without a trace: after `answer_timeout_s` without an
  `ok`, `Resend` or `busy:` keep-alive, the oldest line in flight is sent again. If
  the firmware had executed it, it asks for the next one (`Resend: N+1`) and nothing
  runs twice; if not, it runs now.
- `ok N<number>` (ADVANCED_OK) names the line it acknowledges; a plain `ok` is the
  oldest line in flight.

`in_flight` > 1 sends ahead while the lines in flight fit the firmware's receive
buffer (`rx_buffer_bytes`), which keeps the link busy while the answers travel back.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from functools import reduce
from operator import xor
from typing import Generic, TypeVar

Tag = TypeVar("Tag")


class LinkError(Exception):
    """The firmware asked for a line the history no longer holds; the stream is lost."""


def checksum(data: bytes) -> int:
    """Marlin's checksum: the XOR of every byte before the `*`."""
    return reduce(xor, data, 0)


def frame(number: int, command: str) -> bytes:
    """The line as it goes on the wire: `N12 G1 X5*71\\n`."""
    body = f"N{number} {command}".encode("ascii", "replace")
    return body + b"*" + str(checksum(body)).encode() + b"\n"


@dataclass(frozen=True)
class _Line(Generic[Tag]):
    number: int
    data: bytes
    tag: Tag


@dataclass
class LinkCounters:
    sent: int = 0  # lines written, resends included
    resent: int = 0
    resend_requests: int = 0
    timeouts: int = 0


class LineLink(Generic[Tag]):
    """Numbers, remembers and acknowledges lines; the caller does the I/O.

    The caller writes what `next_frame()` returns, feeds every `Ok`, `Resend` and
    keep-alive back, and calls `check_timeout(now)` now and then. `take()` returns
    the tags of lines the firmware acknowledged, in order.
    """

    def __init__(self, *, in_flight: int = 1, rx_buffer_bytes: int = 128,
                 history: int = 200, answer_timeout_s: float = 10.0,
                 resend_ok: bool = True) -> None:
        self.in_flight = in_flight
        self.rx_buffer_bytes = rx_buffer_bytes
        self.history_size = max(history, in_flight + 1)
        self.answer_timeout_s = answer_timeout_s
        self.resend_ok = resend_ok
        self.counters = LinkCounters()
        self.reset(1, 0.0)

    def reset(self, next_number: int, now: float) -> None:
        """Start numbering at `next_number` (after `M110 N<next_number - 1>`)."""
        self._next_number = next_number
        self._history: deque[_Line[Tag]] = deque(maxlen=self.history_size)
        self._unacked: deque[_Line[Tag]] = deque()
        self._rewound: deque[_Line[Tag]] = deque()  # lines to send again, oldest first
        self._acked: list[Tag] = []
        self._stray_oks = 0  # oks still to come for lines the firmware refused
        self._echo_resends = 0  # Resend echoes still to come for an earlier rewind
        self._echo_target = -1
        self._last_progress = now

    # -- sending -----------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """Nothing in flight and nothing waiting to be sent again."""
        return not self._unacked and not self._rewound

    @property
    def retransmitting(self) -> bool:
        return bool(self._rewound)

    def has_room(self, size: int = 0) -> bool:
        if len(self._unacked) >= self.in_flight or self._stray_oks:
            return False
        if self.in_flight == 1:
            return True
        in_flight_bytes = sum(len(line.data) for line in self._unacked)
        return not self._unacked or in_flight_bytes + size <= self.rx_buffer_bytes

    def next_resend(self, now: float) -> bytes | None:
        """The next line to send again, when there is one and room for it."""
        if not self._rewound or not self.has_room(len(self._rewound[0].data)):
            return None
        line = self._rewound.popleft()
        self._sent(line, now)
        self.counters.resent += 1
        return line.data

    def send(self, command: str, tag: Tag, now: float) -> bytes:
        """Number a new command and return its frame. Call only when `has_room()` and
        nothing waits to be sent again."""
        line = _Line(self._next_number, frame(self._next_number, command), tag)
        self._next_number += 1
        self._history.append(line)
        self._sent(line, now)
        return line.data

    def _sent(self, line: _Line[Tag], now: float) -> None:
        if not self._unacked:
            self._last_progress = now
        self._unacked.append(line)
        self.counters.sent += 1

    # -- answers -----------------------------------------------------------------------

    def on_ok(self, line_number: int | None, now: float) -> None:
        self._last_progress = now
        if self._stray_oks:
            self._stray_oks -= 1
            return
        if line_number is not None:
            while self._unacked and self._unacked[0].number <= line_number:
                self._acked.append(self._unacked.popleft().tag)
            return
        if self._unacked:
            self._acked.append(self._unacked.popleft().tag)

    def on_resend(self, line_number: int, now: float) -> None:
        """The firmware wants every line from `line_number` on again."""
        self._last_progress = now
        self.counters.resend_requests += 1
        if self.resend_ok:
            self._stray_oks += 1
        if self._echo_resends and line_number == self._echo_target:
            self._echo_resends -= 1  # a line sent before the rewind, refused as well
            return
        # Lines below the requested one were executed: their oks may have been lost.
        while self._unacked and self._unacked[0].number < line_number:
            self._acked.append(self._unacked.popleft().tag)
        later = [line for line in self._unacked if line.number > line_number]
        self._echo_resends, self._echo_target = len(later), line_number
        self._rewind(line_number)

    def on_keepalive(self, now: float) -> None:
        """`busy:` or a heating wait's report: the firmware is working, keep waiting."""
        self._last_progress = now

    def check_timeout(self, now: float) -> bool:
        """After `answer_timeout_s` of silence, send the oldest line in flight again.
        True when it did (the caller logs it)."""
        if not (self._unacked or self._stray_oks):
            return False
        if now - self._last_progress < self.answer_timeout_s:
            return False
        self.counters.timeouts += 1
        self._last_progress = now
        self._echo_resends = 0
        if self._stray_oks and not self._unacked:
            # Waiting for the ok after a Resend that this firmware does not send.
            self.resend_ok = False
            self._stray_oks = 0
            return True
        self._stray_oks = 0
        self._rewind(self._unacked[0].number)
        return True

    def take(self) -> list[Tag]:
        """Tags of the lines acknowledged since the last call, in order."""
        acked, self._acked = self._acked, []
        return acked

    def _rewind(self, line_number: int) -> None:
        if line_number >= self._next_number:
            # The firmware expects a line not sent yet: everything sent was executed.
            self._acked.extend(line.tag for line in self._unacked)
            self._unacked.clear()
            self._rewound.clear()
            return
        known = [line for line in self._history if line.number >= line_number]
        if not known or known[0].number != line_number:
            oldest = self._history[0].number if self._history else self._next_number
            raise LinkError(
                f"the printer asked for line {line_number} again, but the agent keeps only "
                f"lines {oldest}..{self._next_number - 1}; the print cannot continue in order")
        self._unacked.clear()
        self._rewound = deque(known)
