"""`makerfarm slice`: slice one or more models onto one plate and print the estimates.

    makerfarm slice benchy.stl bracket.3mf --profile generic-220 --material PLA \\
        --quality standard --set infill_density=15% --set supports=true -o plate.gcode
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from slicing.errors import SlicingError

if TYPE_CHECKING:
    from firmware_profiles import Profile
    from slicing.plate import PlatePart, SliceResult
    from slicing.settings import SliceSettings


def configure(parser: argparse.ArgumentParser) -> None:
    from slicing.settings import SliceSettings

    standard = SliceSettings.for_quality("standard")
    keys = ", ".join(
        f"{name}={getattr(standard, name)}"
        for name in SliceSettings.model_fields
        if name != "quality"
    )
    parser.epilog = (
        "settings for --set (standard PLA values; lengths in mm, speeds in mm/s, "
        "densities as 0.2, 20 or 20%): " + keys
    )
    parser.add_argument("models", nargs="+", type=Path, help="STL, 3MF or OBJ files")
    parser.add_argument("--profile", required=True, help="printer profile id, e.g. generic-220")
    parser.add_argument("--material", default="PLA", help="material name in the profile")
    parser.add_argument("--quality", default="standard", choices=["draft", "standard", "fine"])
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one setting (repeatable)",
    )
    parser.add_argument("-o", "--output", type=Path, required=True, help="G-code file to write")
    parser.add_argument("--gap", type=float, default=10.0, help="gap between parts, mm")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def run(args: argparse.Namespace) -> int:
    from firmware_profiles import ProfileError, load_profile

    try:
        profile = load_profile(args.profile)
        profile.material(args.material)
        settings = _settings(args)
        result, parts = _slice(args, profile, settings)
    except (SlicingError, ProfileError, KeyError, ValueError, OSError) as exc:
        message = exc.reason if isinstance(exc, SlicingError) else str(exc).strip("'\"")
        print(f"makerfarm slice: {message}", file=sys.stderr)
        return 1
    args.output.write_text(result.gcode)
    summary = _summary(args, result, parts)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_summary(summary, sys.stdout)
    return 0


def _settings(args: argparse.Namespace) -> SliceSettings:
    from slicing.settings import SliceSettings

    overrides: dict[str, str] = {}
    for item in args.overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        overrides[key.strip()] = value
    base = SliceSettings.for_quality(args.quality, material=args.material)
    return base.with_overrides(overrides)


def _slice(
    args: argparse.Namespace, profile: Profile, settings: SliceSettings
) -> tuple[SliceResult, list[PlatePart]]:
    from slicing.arrange import arrange
    from slicing.mesh import load_mesh
    from slicing.plate import PlatePart, slice_plate

    meshes = []
    for path in args.models:
        fmt = path.suffix.lower().lstrip(".")
        try:
            meshes.append(load_mesh(path.read_bytes(), fmt, name=path.stem))
        except SlicingError as exc:
            exc.reason = f"{path.name}: {exc.reason}"
            raise
    placements = arrange(meshes, profile, gap_mm=args.gap)
    parts = [
        PlatePart(mesh, p.x_mm, p.y_mm, p.rotation_deg, mesh.name, f"part{i + 1}")
        for i, (mesh, p) in enumerate(zip(meshes, placements, strict=True))
    ]
    progress = None if args.quiet else Progress(sys.stderr)
    result = slice_plate(parts, profile, args.material, settings, progress=progress)
    if progress:
        progress.done()
    return result, parts


class Progress:
    """Percent on one line for a terminal, a line per 10 % otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last = -1

    def __call__(self, fraction: float) -> None:
        percent = int(100 * min(max(fraction, 0.0), 1.0))
        if self.tty:
            if percent != self.last:
                bar = "#" * (percent // 4)
                self.stream.write(f"\rslicing [{bar:<25}] {percent:3d}%")
                self.stream.flush()
        elif percent // 10 > self.last // 10 if self.last >= 0 else True:
            self.stream.write(f"slicing: {percent}%\n")
            self.stream.flush()
        self.last = percent

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _summary(
    args: argparse.Namespace, result: SliceResult, parts: list[PlatePart]
) -> dict[str, Any]:
    stats = result.stats
    return {
        "output": str(args.output),
        "profile": args.profile,
        "material": args.material,
        "layers": result.layers,
        "print_seconds": round(float(stats.print_seconds), 1),
        "filament_m": round(float(stats.filament_mm) / 1000, 3),
        "filament_g": round(result.filament_g, 2),
        "objects": [
            {
                "label": name,
                "x_mm": round(p.x_mm, 2),
                "y_mm": round(p.y_mm, 2),
                "rotation_deg": p.rotation_deg,
                "repairs": list(p.mesh.repairs),
            }
            for name, p in zip(result.objects, parts, strict=True)
        ],
        "warnings": result.warnings,
    }


def _print_summary(summary: dict[str, Any], out: TextIO) -> None:
    seconds = int(summary["print_seconds"])
    hours, rest = divmod(seconds, 3600)
    out.write(
        f"wrote {summary['output']}: {summary['layers']} layers, "
        f"{hours}h{rest // 60:02d}m{rest % 60:02d}s, "
        f"{summary['filament_m']:.2f} m / {summary['filament_g']:.1f} g of "
        f"{summary['material']}\n"
    )
    for obj in summary["objects"]:
        out.write(
            f"  {obj['label']}: at ({obj['x_mm']}, {obj['y_mm']}) "
            f"rotated {obj['rotation_deg']:g}°\n"
        )
        for repair in obj["repairs"]:
            out.write(f"    repaired: {repair}\n")
    for warning in summary["warnings"]:
        out.write(f"  warning: {warning}\n")
