"""Every message model of the wire contract, split by concept (jobs, printer, commands,
staff, fleet). Importing a module registers its models in `protocol.base.MESSAGE_TYPES`;
`load_all()` imports every one. The modules are this package's attributes as before, but
each is imported on first use: an agent uses commands and printer only, and saves the
memory of the rest."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from protocol.messages import commands, fleet, jobs, printer, staff

MODULES = ("commands", "fleet", "jobs", "printer", "staff")


def load_all() -> None:
    """Import every message module, so every model is registered."""
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")


def __getattr__(name: str) -> ModuleType:
    if name in MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["MODULES", "commands", "fleet", "jobs", "load_all", "printer", "staff"]
