"""The line protocol of a Marlin-family printer, without the I/O: numbered, checksummed
lines, flow control, the resend history and the timeout for lost answers.

Every line goes out as `N<number> <command>*<checksum>`; the firmware executes a
line only if its number follows the last one it executed and the checksum holds, so
a line is never executed twice and never out of order. What can go wrong on the wire
is repaired here:

- `Resend: N` / `rs N`: the firmware discarded lines from N on; they go out again
  from the history at once. Marlin answers a bad line with `Resend` and then `ok`
  (`resend_ok`); some builds leave the `ok` out. Lines already in flight after a bad
  one each earn their own `Resend: N` for the same N; those echoes do not rewind twice.
- a line or its answer lost without a trace: after a silence longer than the answer
  timeout (see below) with an answer owed, the oldest line in flight is sent again.
  If the firmware had executed it, it asks for the next one (`Resend: N+1`) and
  nothing runs twice; if not, it runs now.
- `ok N<number>` (ADVANCED_OK) names the line it acknowledges, and every line before
  it: an `ok` lost on the wire is made good by the next one. A plain `ok` is the
  oldest line in flight.

Flow control. Without ADVANCED_OK, at most `in_flight` lines are in flight (1: strict
ok-paced flow control, the safe default, since plain `ok`s cannot say which line they
answer). Once the firmware's `ok`s name their line and `send_ahead` is on, lines are
sent ahead of their answers as long as the bytes in flight fit the firmware's receive
buffer (`rx_buffer_bytes`, Marlin's RX_BUFFER_SIZE, whose ring keeps one byte free):
whatever the firmware has not yet taken into its command queue is a subset of what
is in flight, so the buffer can never overflow, and the outgoing wire stays busy
while the answers travel back. Lines a Resend made the firmware throw away still
count until their echo (or a later `ok`) shows they left the buffer.

The answer timeout adapts: a few times the observed `ok` latency, never shorter
than `min_answer_timeout_s` (set from the firmware's busy keep-alive interval, the
longest a working firmware stays silent, e.g. while a full planner drains) and never
longer than `answer_timeout_s`. After a `busy:` keep-alive the full
`answer_timeout_s` applies until the next `ok`, and every keep-alive restarts it.
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
    sent_at: float  # when it first went out; -1 for a line sent again


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

    def __init__(
        self,
        *,
        in_flight: int = 1,
        rx_buffer_bytes: int = 128,
        history: int = 200,
        answer_timeout_s: float = 10.0,
        resend_ok: bool = True,
        send_ahead: bool = True,
        min_answer_timeout_s: float | None = None,
    ) -> None:
        self.in_flight = in_flight
        self.rx_buffer_bytes = rx_buffer_bytes
        self.history_size = max(history, in_flight + 1, rx_buffer_bytes)
        self.answer_timeout_s = answer_timeout_s
        self.min_answer_timeout_s = (
            answer_timeout_s
            if min_answer_timeout_s is None
            else min(min_answer_timeout_s, answer_timeout_s)
        )
        self.resend_ok = resend_ok
        self.send_ahead = send_ahead
        self.advanced_ok = False  # the firmware's oks name their line
        self.counters = LinkCounters()
        self._latency = _Latency()
        self.reset(1, 0.0)

    def reset(self, next_number: int, now: float) -> None:
        """Start numbering at `next_number` (after `M110 N<next_number - 1>`)."""
        self._next_number = next_number
        self._history: deque[_Line[Tag]] = deque(maxlen=self.history_size)
        self._unacked: deque[_Line[Tag]] = deque()
        self._unacked_bytes = 0
        self._rewound: deque[_Line[Tag]] = deque()  # lines to send again, oldest first
        self._acked: list[Tag] = []
        self._stray_oks = 0  # oks still to come for lines the firmware refused
        self._echoes: deque[int] = deque()  # sizes of refused lines whose Resend is due
        self._echo_target = -1
        self._last_progress = now
        self._busy = False  # a keep-alive came since the last ok

    # -- sending -----------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """Nothing in flight and nothing waiting to be sent again."""
        return not self._unacked and not self._rewound

    @property
    def retransmitting(self) -> bool:
        return bool(self._rewound)

    @property
    def sending_ahead(self) -> bool:
        """Lines go out ahead of their answers, bounded by the receive buffer."""
        return self.send_ahead and self.advanced_ok

    @property
    def bytes_in_flight(self) -> int:
        return self._unacked_bytes + sum(self._echoes)

    def has_room(self, size: int = 0) -> bool:
        if not self._unacked:
            return self.sending_ahead or not self._stray_oks
        if self.sending_ahead:
            return self.bytes_in_flight + size < self.rx_buffer_bytes
        if len(self._unacked) >= self.in_flight or self._stray_oks:
            return False
        return self.in_flight == 1 or self.bytes_in_flight + size < self.rx_buffer_bytes

    def frame_size(self, command: str) -> int:
        """The bytes `command` takes on the wire as the next line."""
        return len(frame(self._next_number, command))

    def next_resend(self, now: float) -> bytes | None:
        """The next line to send again, when there is one and room for it."""
        if not self._rewound or not self.has_room(len(self._rewound[0].data)):
            return None
        line = self._rewound.popleft()
        self._sent(line, now, again=True)
        self.counters.resent += 1
        return line.data

    def send(self, command: str, tag: Tag, now: float) -> bytes:
        """Number a new command and return its frame. Call only when `has_room()` and
        nothing waits to be sent again."""
        line = _Line(self._next_number, frame(self._next_number, command), tag, now)
        self._next_number += 1
        self._history.append(line)
        self._sent(line, now)
        return line.data

    def _sent(self, line: _Line[Tag], now: float, again: bool = False) -> None:
        if not self._unacked:
            self._last_progress = now
        if again:
            line = _Line(line.number, line.data, line.tag, -1.0)  # no latency sample
        self._unacked.append(line)
        self._unacked_bytes += len(line.data)
        self.counters.sent += 1

    # -- answers -----------------------------------------------------------------------

    def on_ok(self, line_number: int | None, now: float) -> None:
        self._last_progress = now
        worked, self._busy = self._busy, False  # a busy wait says nothing of the link
        if line_number is not None and self.send_ahead:
            self.advanced_ok = True
        if self.advanced_ok:
            if line_number is None:
                return  # the ok after a Resend, or an unnumbered command's
            if line_number >= self._echo_target:
                self._echoes.clear()  # the firmware is past the refused lines
            while self._unacked and self._unacked[0].number <= line_number:
                self._ack(now, sample=not worked)
            return
        if self._stray_oks:
            self._stray_oks -= 1
            return
        if line_number is not None:
            while self._unacked and self._unacked[0].number <= line_number:
                self._ack(now, sample=not worked)
            return
        if self._unacked:
            self._ack(now, sample=not worked)

    def _ack(self, now: float, sample: bool = False) -> None:
        line = self._unacked.popleft()
        self._unacked_bytes -= len(line.data)
        if sample and line.sent_at >= 0:
            self._latency.sample(now - line.sent_at)
        self._acked.append(line.tag)

    def on_resend(self, line_number: int, now: float) -> None:
        """The firmware wants every line from `line_number` on again."""
        self._last_progress = now
        self.counters.resend_requests += 1
        if self.resend_ok and not self.advanced_ok:  # advanced oks say whose they are
            self._stray_oks += 1
        if self._echoes and line_number == self._echo_target:
            self._echoes.popleft()  # a line sent before the rewind, refused as well
            return
        # Lines below the requested one were taken: their oks may come later or never.
        while self._unacked and self._unacked[0].number < line_number:
            self._ack(now)
        self._echoes = deque(len(line.data) for line in self._unacked if line.number > line_number)
        self._echo_target = line_number
        self._rewind(line_number)

    def keepalive_interval(self, seconds: float) -> None:
        """The firmware says `busy:` at least this often while it works (M113): a
        longer silence means an answer was lost."""
        self.min_answer_timeout_s = min(self.answer_timeout_s, 2 * seconds + 0.5)

    def on_keepalive(self, now: float) -> None:
        """`busy:` or a heating wait's report: the firmware is working, keep waiting."""
        self._last_progress = now
        self._busy = True

    @property
    def timeout_s(self) -> float:
        """How long a silence may last while an answer is owed."""
        if self._busy:
            return self.answer_timeout_s
        adaptive = self._latency.timeout()
        return min(self.answer_timeout_s, max(self.min_answer_timeout_s, adaptive))

    def check_timeout(self, now: float) -> bool:
        """After a silence longer than `timeout_s`, send the oldest line in flight
        again. True when it did (the caller logs it)."""
        if not (self._unacked or self._stray_oks):
            return False
        if now - self._last_progress < self.timeout_s:
            return False
        self.counters.timeouts += 1
        self._last_progress = now
        self._echoes.clear()
        if self._stray_oks and not self._unacked:
            if not self.advanced_ok:
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
            self._unacked_bytes = 0
            self._rewound.clear()
            return
        known = [line for line in self._history if line.number >= line_number]
        if not known or known[0].number != line_number:
            oldest = self._history[0].number if self._history else self._next_number
            raise LinkError(
                f"the printer asked for line {line_number} again, but the agent keeps only "
                f"lines {oldest}..{self._next_number - 1}; the print cannot continue in order"
            )
        self._unacked.clear()
        self._unacked_bytes = 0
        self._rewound = deque(known)


class _Latency:
    """The ok latency seen so far (smoothed like TCP's round-trip time) and the
    timeout it suggests: the mean plus four deviations, times two."""

    def __init__(self) -> None:
        self.mean: float | None = None
        self.deviation = 0.0

    def sample(self, seconds: float) -> None:
        if self.mean is None:
            self.mean, self.deviation = seconds, seconds / 2
            return
        self.deviation += (abs(seconds - self.mean) - self.deviation) / 4
        self.mean += (seconds - self.mean) / 8

    def timeout(self) -> float:
        if self.mean is None:
            return float("inf")
        return 2 * (self.mean + 4 * self.deviation)
