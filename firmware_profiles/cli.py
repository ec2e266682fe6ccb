"""`makerfarm profiles`: list the known printer profiles, show one, or check your own.

    makerfarm profiles list [--json] [--dir DIR ...]
    makerfarm profiles show ID [--json] [--dir DIR ...]
    makerfarm profiles check PATH [PATH ...] [--dir DIR ...]

`--dir` adds a directory of your own profiles to the shipped ones (repeatable).
Exit codes: 0 fine, 1 a profile is broken, 2 no profile with that id.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from firmware_profiles.errors import ProfileError, UnknownProfileError
from firmware_profiles.loader import (
    list_profiles,
    load_profile,
    load_profile_file,
    load_profiles_dir,
)
from firmware_profiles.model import Profile


def configure(parser: argparse.ArgumentParser) -> None:
    dirs = argparse.ArgumentParser(add_help=False)
    dirs.add_argument(
        "--dir",
        dest="dirs",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="also read the profiles in DIR (repeatable)",
    )
    commands = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = commands.add_parser("list", parents=[dirs], help="a table of every printer")
    listing.add_argument("--json", action="store_true", help="machine-readable list")
    show = commands.add_parser("show", parents=[dirs], help="one profile, resolved")
    show.add_argument("id", help="profile id, e.g. generic-220")
    show.add_argument("--json", action="store_true", help="the whole profile as JSON")
    check = commands.add_parser("check", parents=[dirs], help="validate profile files")
    check.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH", help="a profile file or a directory of them"
    )


def run(args: argparse.Namespace) -> int:
    try:
        if args.action == "list":
            return _list(args.dirs, args.json)
        if args.action == "show":
            return _show(args.id, args.dirs, args.json)
        return _check(args.paths, args.dirs)
    except UnknownProfileError as exc:
        print(f"makerfarm profiles: no profile with id {exc.profile_id!r}", file=sys.stderr)
        print("known profiles: " + ", ".join(exc.known), file=sys.stderr)
        return 2
    except ProfileError as exc:
        print(f"makerfarm profiles: {exc}", file=sys.stderr)
        return 1


def _list(dirs: Sequence[Path], as_json: bool) -> int:
    profiles = list_profiles(dirs)
    if as_json:
        print(json.dumps([_summary(p) for p in profiles], indent=2))
        return 0
    header = ("ID", "NAME", "FLAVOUR", "TRANSPORT", "BED MM", "MAX Z", "MATERIALS")
    rows = [header] + [
        (
            p.id,
            p.name,
            p.flavour.value,
            p.transport.value,
            _bed_text(p),
            _number(p.machine.max_z_mm),
            " ".join(p.materials),
        )
        for p in profiles
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        print("  ".join([*cells, row[-1]]).rstrip())
    return 0


def _show(profile_id: str, dirs: Sequence[Path], as_json: bool) -> int:
    profile = load_profile(profile_id, dirs)
    if as_json:
        print(json.dumps(profile.model_dump(mode="json"), indent=2))
    else:
        print(describe(profile))
    return 0


def _check(paths: Sequence[Path], dirs: Sequence[Path]) -> int:
    for path in paths:
        if path.is_dir():
            found = load_profiles_dir(path, dirs)
            print(f"{path}: {len(found)} profile(s) valid: " + ", ".join(p.id for p in found))
        else:
            profile = load_profile_file(path, dirs)
            print(f"{path}: {profile.id} is valid")
    return 0


def describe(profile: Profile) -> str:
    """A profile as readable sections, every inherited value resolved."""
    lines = [f"{profile.id}: {profile.name}"]
    for label, value in (
        ("vendor", profile.vendor),
        ("source", profile.url),
        ("inherits", profile.inherits or ""),
    ):
        if value:
            lines.append(f"  {label:<10} {value}")
    lines.append(f"  {'firmware':<10} {profile.flavour.value} over {profile.transport.value}")
    for section in ("machine", "limits", "capabilities", "serial"):
        lines += ["", f"[{section}]"]
        for key, value in getattr(profile, section).model_dump(mode="json").items():
            lines.append(f"  {key:<34} {_value_text(value)}")
    lines += ["", "[materials]", *_material_lines(profile)]
    lines += ["", "[safety]"]
    for name in ("blocked", "operator", "clamped"):
        words = " ".join(getattr(profile.safety, name)) or "(none)"
        lines.append(
            textwrap.fill(
                words, width=96, initial_indent=f"  {name:<9} ", subsequent_indent=" " * 12
            )
        )
    for name, text in profile.gcode.model_dump().items():
        if text.strip():
            lines += ["", f"[gcode.{name}]", textwrap.indent(text.strip("\n"), "  ")]
    return "\n".join(lines)


def _material_lines(profile: Profile) -> list[str]:
    if not profile.materials:
        return ["  (none)"]
    lines = [f"  {'NAME':<8} {'HOTEND C':<22} {'BED C':<20} {'G/CM3':<6} ENCLOSURE"]
    for name, m in profile.materials.items():
        first_hotend = m.first_layer_hotend_c if m.first_layer_hotend_c is not None else m.hotend_c
        first_bed = m.first_layer_bed_c if m.first_layer_bed_c is not None else m.bed_c
        hotend = (
            f"{_number(m.hotend_c)} ({_number(first_hotend)}) "
            f"{_number(m.hotend_min_c)}-{_number(m.hotend_max_c)}"
        )
        bed = (
            f"{_number(m.bed_c)} ({_number(first_bed)}) {_number(m.bed_min_c)}-"
            f"{_number(m.bed_max_c)}"
        )
        enclosure = "needed" if m.needs_enclosure else "-"
        lines.append(f"  {name:<8} {hotend:<22} {bed:<20} {m.density_g_cm3:<6} {enclosure}")
    lines.append("  (default temperature, first layer in brackets, then the allowed range)")
    return lines


def _summary(profile: Profile) -> dict[str, Any]:
    machine = profile.machine
    return {
        "id": profile.id,
        "name": profile.name,
        "vendor": profile.vendor,
        "flavour": profile.flavour.value,
        "transport": profile.transport.value,
        "bed": {
            "shape": machine.bed_shape,
            "x_mm": machine.bed_x_mm,
            "y_mm": machine.bed_y_mm,
            "origin": machine.origin,
        },
        "max_z_mm": machine.max_z_mm,
        "enclosed": machine.enclosed,
        "materials": list(profile.materials),
    }


def _bed_text(profile: Profile) -> str:
    machine = profile.machine
    if machine.bed_shape == "circle":
        return f"round {_number(machine.bed_x_mm)}"
    return f"{_number(machine.bed_x_mm)} x {_number(machine.bed_y_mm)}"


def _value_text(value: object) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k}={_value_text(v)}" for k, v in value.items())
    if isinstance(value, float):
        return _number(value)
    if value is None:
        return "-"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
