"""The hostile corpus: small programs that each try one unsafe thing.

Every `*.gcode` file here starts with a header the tests read:

    ; hostile: what the program tries
    ; expect: <code> @ <line>[, <code> @ <line> ...]   the errors it must be rejected with
    ; profile: generic-220 | generic-220-rrf | generic-220-klipper
    ; material: PLA

The two variants are generic-220 with RepRapFirmware or Klipper as its firmware, so the
same printer is checked in each dialect.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from firmware_profiles import Flavour, Profile, Transport, load_profile

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Case:
    name: str
    description: str
    text: str
    expected: frozenset[tuple[str, int]]  # (code, line)
    profile_id: str
    material: str


def cases() -> list[Case]:
    return [read_case(path) for path in sorted(HERE.glob("*.gcode"))]


def read_case(path: Path) -> Case:
    text = path.read_text()
    header: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("; ") or ":" not in line:
            break
        key, value = line[2:].split(":", 1)
        header[key.strip()] = value.strip()
    expected = set()
    for item in header["expect"].split(","):
        code, line_number = item.split("@")
        expected.add((code.strip(), int(line_number)))
    return Case(
        name=path.stem,
        description=header["hostile"],
        text=text,
        expected=frozenset(expected),
        profile_id=header.get("profile", "generic-220"),
        material=header.get("material", "PLA"),
    )


def profile_for(profile_id: str) -> Profile:
    """generic-220, or generic-220 running RepRapFirmware or Klipper."""
    base = load_profile("generic-220")
    if profile_id == "generic-220-rrf":
        return base.model_copy(update={"id": profile_id, "flavour": Flavour.REPRAPFIRMWARE})
    if profile_id == "generic-220-klipper":
        return base.model_copy(
            update={"id": profile_id, "flavour": Flavour.KLIPPER, "transport": Transport.MOONRAKER}
        )
    return load_profile(profile_id)
