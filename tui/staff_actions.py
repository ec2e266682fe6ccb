"""Staff actions on a printer: declared once, shown as keys, palette entries and help.

`PRINTER_ACTIONS` lists every action the printer detail offers, with its key, whether it
asks for confirmation first, and whether it needs the printer's plate. `new_command`
stamps a protocol `StaffCommand` with a fresh `command_id`, the staff user and the time;
`PendingCommands` remembers what was sent until the controller's `StaffReply` says whether
it was accepted, so the TUI can show the answer next to the action a person took.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from protocol.base import Message
from protocol.messages.staff import StaffReply

REPLY_OVERDUE_S = 10.0
C = TypeVar("C", bound=Message)


@dataclass(frozen=True)
class PrinterAction:
    """One thing staff can do to a printer from its detail screen."""

    name: str  # the screen's action is `action_<name>`
    key: str
    title: str
    short: str  # for the footer
    help: str
    destructive: bool = False
    needs_plate: bool = False


PRINTER_ACTIONS: tuple[PrinterAction, ...] = (
    PrinterAction(
        "bed_cleared",
        "b",
        "Bed cleared",
        "Bed clear",
        "the bed is empty and clean: the printer may start its next plate",
        destructive=True,
    ),
    PrinterAction(
        "spool_loaded",
        "l",
        "Spool loaded",
        "Spool",
        "a spool was loaded: tell the controller its material and colour",
    ),
    PrinterAction("pause", "p", "Pause", "Pause", "pause the plate that is printing"),
    PrinterAction("resume", "r", "Resume", "Resume", "resume a paused plate"),
    PrinterAction(
        "cancel_plate",
        "c",
        "Cancel plate",
        "Cancel plate",
        "stop the plate; its unprinted parts go back in the queue",
        destructive=True,
        needs_plate=True,
    ),
    PrinterAction(
        "cancel_part",
        "x",
        "Cancel one part",
        "Cancel part",
        "skip one object on the plate; its neighbours go on printing",
        destructive=True,
        needs_plate=True,
    ),
    PrinterAction(
        "fail_parts",
        "f",
        "Fail parts",
        "Fail",
        "parts failed inspection: they are printed again",
        destructive=True,
        needs_plate=True,
    ),
    PrinterAction(
        "pass_parts", "v", "Pass parts", "Pass", "parts passed inspection", needs_plate=True
    ),
    PrinterAction(
        "maintenance_on",
        "m",
        "Maintenance on",
        "Maint. on",
        "take the printer out of service: no new plates are sent to it",
        destructive=True,
    ),
    PrinterAction(
        "maintenance_off", "o", "Maintenance off", "Maint. off", "put the printer back in service"
    ),
)
ACTIONS_BY_NAME = {action.name: action for action in PRINTER_ACTIONS}


def new_command(kind: type[C], staff_user: str, **fields: Any) -> C:
    """A staff command of `kind` with a fresh id, signed by `staff_user`, dated now."""
    stamp: dict[str, Any] = {
        "command_id": "s" + uuid.uuid4().hex[:15],
        "staff_user": staff_user,
        "issued_at": datetime.now(UTC),
    }
    return kind(**stamp, **fields)


@dataclass
class PendingCommand:
    command_id: str
    site_id: str
    description: str
    subject: str  # the printer (or plate, job) it acts on, to list it in that printer's detail
    sent_monotonic: float
    reported_overdue: bool = False


class PendingCommands:
    """Staff commands sent and not yet answered by the controller."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._pending: dict[str, PendingCommand] = {}
        self.answered: list[tuple[PendingCommand, StaffReply]] = []

    def sent(
        self, command_id: str, site_id: str, description: str, subject: str = ""
    ) -> PendingCommand:
        pending = PendingCommand(command_id, site_id, description, subject, self._clock())
        self._pending[command_id] = pending
        return pending

    def waiting_for(self, subject: str) -> list[PendingCommand]:
        return [p for p in self._pending.values() if p.subject == subject]

    def forget(self, command_id: str) -> None:
        self._pending.pop(command_id, None)

    def resolve(self, reply: StaffReply) -> PendingCommand | None:
        """The command this reply answers, if it was ours (other staff's replies: None)."""
        pending = self._pending.pop(reply.command_id, None)
        if pending is not None:
            self.answered.append((pending, reply))
            del self.answered[:-50]
        return pending

    def newly_overdue(self, after_s: float = REPLY_OVERDUE_S) -> list[PendingCommand]:
        """Commands unanswered for `after_s`, each reported once."""
        now = self._clock()
        overdue = [
            p
            for p in self._pending.values()
            if not p.reported_overdue and now - p.sent_monotonic >= after_s
        ]
        for pending in overdue:
            pending.reported_overdue = True
        return overdue

    def __len__(self) -> int:
        return len(self._pending)


def describe_reply(pending: PendingCommand, reply: StaffReply) -> str:
    """`Pause p-07: accepted` / `Cancel plate p-07: refused: the plate already finished`."""
    if reply.accepted:
        detail = f" ({reply.reason})" if reply.reason else ""
        return f"{pending.description}: accepted{detail}"
    return f"{pending.description}: refused: {reply.reason}"
