"""`makerfarm gcode`: statistics and the safety check of a G-code file.

    makerfarm gcode stats FILE [--profile ID] [--material M] [--json]
    makerfarm gcode check FILE --profile ID --material M [--attended] [--json]
    makerfarm gcode codes [--json]

FILE may be `-` for stdin and may be gzip-compressed. Exit status: 0 clean, 1 the check
found errors, 2 unreadable input (missing file, binary, not UTF-8) or an unknown
profile or material.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from firmware_profiles.errors import ProfileError
from firmware_profiles.gcode import (
    CODE_HELP,
    ProgramStats,
    Severity,
    UnreadableProgram,
    Violation,
    analyze,
    analyze_and_check,
    format_duration,
    read_program,
)
from firmware_profiles.loader import load_profile
from firmware_profiles.model import Profile

EXIT_OK, EXIT_VIOLATIONS, EXIT_UNREADABLE = 0, 1, 2


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    stats = actions.add_parser("stats", help="layers, filament, time estimate, objects")
    stats.add_argument("file", metavar="FILE", help="G-code file (gzip is fine), - for stdin")
    stats.add_argument("--profile", metavar="ID", help="printer profile (default: Marlin 2)")
    stats.add_argument("--material", metavar="M", help="material, for the filament weight")
    stats.add_argument("--density", type=float, metavar="G_CM3", help="filament density")
    stats.add_argument(
        "--planner",
        choices=("auto", "python", "numpy"),
        default="auto",
        help="time estimate implementation (default: numpy when installed)",
    )
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    check = actions.add_parser("check", help="the safety check against a profile and material")
    check.add_argument("file", metavar="FILE", help="G-code file (gzip is fine), - for stdin")
    check.add_argument("--profile", metavar="ID", required=True, help="printer profile")
    check.add_argument("--material", metavar="M", required=True, help="material, e.g. PLA")
    check.add_argument(
        "--attended",
        action="store_true",
        help="someone stays at the printer: operator commands are warnings",
    )
    check.add_argument("--json", action="store_true", help="machine-readable output")
    codes = actions.add_parser("codes", help="list the violation codes the check reports")
    codes.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    if args.action == "codes":
        return _codes(args.json)
    try:
        profile = load_profile(args.profile) if args.profile else None
        text = read_program(args.file)
        if args.action == "stats":
            stats = analyze(
                text,
                profile,
                material=args.material,
                density_g_cm3=args.density,
                planner=args.planner,
            )
            _print_stats(args, profile, stats)
            return EXIT_OK
        assert profile is not None
        stats, violations = analyze_and_check(text, profile, args.material, attended=args.attended)
    except UnreadableProgram as error:
        return _fail(args, str(error))
    except KeyError as error:  # unknown material: the message lists the profile's materials
        return _fail(args, str(error.args[0]) if error.args else str(error))
    except ProfileError as error:
        return _fail(args, str(error))
    _print_check(args, profile, stats, violations)
    errors = [v for v in violations if v.severity is Severity.ERROR]
    return EXIT_VIOLATIONS if errors else EXIT_OK


def _fail(args: argparse.Namespace, message: str) -> int:
    if args.json:
        print(json.dumps({"file": args.file, "error": message}))
    else:
        print(f"makerfarm gcode {args.action}: {message}", file=sys.stderr)
    return EXIT_UNREADABLE


def _print_stats(args: argparse.Namespace, profile: Profile | None, stats: ProgramStats) -> None:
    if args.json:
        print(json.dumps(_stats_json(args, profile, stats), indent=2))
        return
    target = profile.id if profile is not None else "Marlin 2 defaults (no profile)"
    print(f"{args.file} on {target} ({stats.flavour})")
    for label, value in _stats_rows(stats, args.material):
        print(f"  {label:<20}{value}")


def _stats_json(
    args: argparse.Namespace, profile: Profile | None, stats: ProgramStats
) -> dict[str, Any]:
    data = {"file": args.file, "profile": profile.id if profile is not None else None}
    data.update(stats.to_dict())
    return data


def _stats_rows(stats: ProgramStats, material: str | None) -> list[tuple[str, str]]:
    heights = sorted({round(h, 3) for h in stats.layer_heights})
    rows = [
        ("lines", f"{stats.lines:,}"),
        (
            "layers",
            f"{stats.layers}"
            + (f" ({', '.join(f'{h:g}' for h in heights)} mm)" if 0 < len(heights) <= 4 else ""),
        ),
        (
            "print time",
            f"{format_duration(stats.print_seconds)}"
            f" (+ about {format_duration(stats.heatup_seconds)} heating)",
        ),
        ("filament", _filament(stats, material)),
    ]
    box = stats.extrusion_box
    if box is not None:
        rows.append(
            (
                "extrusion box",
                f"X {box.min_x:.1f}..{box.max_x:.1f}  "
                f"Y {box.min_y:.1f}..{box.max_y:.1f}  "
                f"Z {box.min_z:.2f}..{box.max_z:.2f} mm",
            )
        )
    rows.append(
        (
            "travel / extrusion",
            f"{stats.travel_mm / 1000:.1f} m / {stats.extrude_mm / 1000:.1f} m of moves",
        )
    )
    rows.append(
        (
            "max feedrate",
            f"{stats.max_extrude_feedrate_mm_s:g} mm/s extruding, "
            f"{stats.max_travel_feedrate_mm_s:g} mm/s travel",
        )
    )
    rows.append(("objects", ", ".join(stats.objects) if stats.objects else "(no labels)"))
    heaters = [
        f"{t.heater} {t.celsius:g} °C{' (wait)' if t.wait else ''}" for t in stats.temperatures[:6]
    ]
    more = len(stats.temperatures) - len(heaters)
    rows.append(
        (
            "temperatures",
            ", ".join(heaters) + (f" and {more} more" if more > 0 else "") if heaters else "(none)",
        )
    )
    return rows


def _filament(stats: ProgramStats, material: str | None) -> str:
    text = f"{stats.filament_mm / 1000:.2f} m, {stats.filament_volume_mm3 / 1000:.2f} cm³"
    if stats.filament_g is not None:
        text += f", {stats.filament_g:.1f} g" + (f" of {material}" if material else "")
    if stats.start_sequence_filament_mm:
        text += f" (+ {stats.start_sequence_filament_mm:.0f} mm start sequence)"
    return text


def _print_check(
    args: argparse.Namespace, profile: Profile, stats: ProgramStats, violations: list[Violation]
) -> None:
    errors = sum(1 for v in violations if v.severity is Severity.ERROR)
    warnings = len(violations) - errors
    if args.json:
        print(
            json.dumps(
                {
                    "file": args.file,
                    "profile": profile.id,
                    "material": args.material,
                    "ok": errors == 0,
                    "errors": errors,
                    "warnings": warnings,
                    "violations": [v.to_dict() for v in violations],
                    "print_seconds": stats.print_seconds,
                    "filament_mm": stats.filament_mm,
                },
                indent=2,
            )
        )
        return
    for violation in violations:
        print(f"{violation.severity:<8} {violation.code:<26} {violation.reason}")
    verdict = "REJECTED" if errors else "OK"
    print(
        f"{verdict}: {args.file} for {args.material} on {profile.id}: {errors} error(s), "
        f"{warnings} warning(s); {stats.layers} layers, "
        f"{format_duration(stats.print_seconds)}, {stats.filament_mm / 1000:.2f} m filament"
    )


def _codes(as_json: bool) -> int:
    if as_json:
        print(
            json.dumps(
                [
                    {"code": str(code), "severity": str(severity), "meaning": meaning}
                    for code, (severity, meaning) in CODE_HELP.items()
                ],
                indent=2,
            )
        )
        return EXIT_OK
    for code, (severity, meaning) in CODE_HELP.items():
        print(f"{code:<26} {severity:<8} {meaning}")
    return EXIT_OK
