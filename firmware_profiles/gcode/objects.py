"""Object labels: which parts a plate holds, so one failed part can be cancelled alone.

Marlin's M486 (`M486 T3` count, `M486 S0` start object 0, `M486 A"name"` its name,
`M486 S-1` outside any object), Klipper's EXCLUDE_OBJECT_DEFINE / _START / _END, and
the slicers' comments (`; printing object NAME`, Cura's `;MESH:NAME`, read by the
interpreter's comment handler) all end up in `ProgramStats.objects`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from firmware_profiles.gcode.lexer import Command

if TYPE_CHECKING:
    from firmware_profiles.gcode.interpreter import Handler, Interpreter


def m486(run: Interpreter, command: Command, line: int) -> None:
    index = command.number("S")
    if index is not None and index >= 0:
        run.state.current_object = str(int(index))
        name = command.strings.get("A")
        if name:
            run.object_ids[int(index)] = name
        run.add_object(run.object_ids.get(int(index), f"object {int(index)}"))
    elif index is not None:
        run.state.current_object = None
    elif "A" in command.strings and run.state.current_object is not None:
        current = int(run.state.current_object)
        old = f"object {current}"
        name = command.strings["A"]
        run.object_ids[current] = name
        if old in run.objects:
            run.objects[run.objects.index(old)] = name
        else:
            run.add_object(name)


def exclude_object_define(run: Interpreter, command: Command, line: int) -> None:
    name = command.strings.get("NAME")
    if name:
        run.add_object(name)


def exclude_object_start(run: Interpreter, command: Command, line: int) -> None:
    name = command.strings.get("NAME")
    if name:
        run.add_object(name)
        run.state.current_object = name


def exclude_object_end(run: Interpreter, command: Command, line: int) -> None:
    run.state.current_object = None


HANDLERS: dict[str, Handler] = {
    "M486": m486,
    "EXCLUDE_OBJECT_DEFINE": exclude_object_define,
    "EXCLUDE_OBJECT_START": exclude_object_start,
    "EXCLUDE_OBJECT_END": exclude_object_end,
}
