"""The command table: which handler runs each command word, per firmware dialect.

Each concept module (`moves`, `coordinates`, `temperatures`, `motion_settings`, `fans`,
`objects`) declares its own `HANDLERS`; this module merges them and applies the few
dialect differences, so the interpreter looks a word up once and never tests flavours.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from firmware_profiles.gcode import coordinates, fans, motion_settings, moves, objects, temperatures
from firmware_profiles.gcode.dialects import Dialect

if TYPE_CHECKING:
    from firmware_profiles.gcode.interpreter import Handler


def command_table(dialect: Dialect) -> dict[str, Handler]:
    table: dict[str, Handler] = {}
    for module in (moves, coordinates, temperatures, motion_settings, fans, objects):
        table.update(module.HANDLERS)
    if dialect.g10_sets_temperature:
        table["G10"] = moves.rrf_g10
    for word in dialect.homing_macros:
        table[word] = moves.start_macro
    for word in dialect.end_macros:
        table[word] = moves.synchronise
    if not dialect.extended_commands:
        for word in [word for word in table if not _classic(word)]:
            del table[word]
    return table


def _classic(word: str) -> bool:
    return word == "T<n>" or (len(word) > 1 and word[0] in "GMT" and word[1].isdigit())
