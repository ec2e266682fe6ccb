"""Bounded field types shared by every message: ids, hashes, materials, texts, times.

Every string, number and list on the wire has a bound, so no payload can carry an
unbounded value into the controller or an agent. The id grammar lives here too, and
topics use the same patterns, so an id that is valid in a message is valid in a topic.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, StringConstraints

# Shop, site, printer, job, plate, part, command, event and alert ids. Lowercase so ids
# never differ only by case; 64 characters so a UUID (36) or a slug fits comfortably.
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
ID_RE = re.compile(ID_PATTERN)
SHA256_PATTERN = r"^[0-9a-f]{64}$"
SHA256_RE = re.compile(SHA256_PATTERN)
# Printer profile ids follow firmware_profiles' grammar (dots allowed: "prusa-mk4.0.6").
PROFILE_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"

# Counts and sizes a JSON number can carry exactly (2**53 - 1).
MAX_SAFE_INT = 9_007_199_254_740_991
MAX_SECONDS = 366 * 24 * 3600  # a year: no plate or estimate is longer
MAX_PARTS_PER_PLATE = 500


def _no_control(multiline: bool) -> AfterValidator:
    allowed = "\n\t" if multiline else ""

    def check(value: str) -> str:
        for char in value:
            if (char < " " and char not in allowed) or char == "\x7f":
                raise ValueError(f"control character {char!r} is not allowed here")
        return value

    return AfterValidator(check)


def _strip_upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _strip_lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


Id = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=64)]
Sha256 = Annotated[str, StringConstraints(pattern=SHA256_PATTERN, min_length=64, max_length=64)]
ProfileId = Annotated[str, StringConstraints(pattern=PROFILE_ID_PATTERN, max_length=64)]

# The shop's own name for a job (order number, line item): its idempotency key.
ClientRef = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,127}$", max_length=128)
]
# Material family as printers and spools name it: PLA, PETG, ABS, ASA, TPU, PA, PA-CF, PLA+.
Material = Annotated[
    str,
    BeforeValidator(_strip_upper),
    StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9+_-]{0,15}$", max_length=16),
]
# A colour name or hex code as the shop and the spool label say it: "black", "#ff8800".
Colour = Annotated[
    str,
    BeforeValidator(_strip_lower),
    StringConstraints(pattern=r"^[a-z0-9#][a-z0-9# _-]{0,31}$", max_length=32),
]
# A short single-line label: an object name, a staff user, an agent version.
Label = Annotated[str, StringConstraints(min_length=1, max_length=64), _no_control(False)]
# One line a person reads: a rejection reason, an error text.
Line = Annotated[str, StringConstraints(max_length=500), _no_control(False)]
# Free text a person wrote: job notes, event details.
Text = Annotated[str, StringConstraints(max_length=2000), _no_control(True)]

UtcDateTime = Annotated[AwareDatetime, AfterValidator(_to_utc)]

Celsius = Annotated[float, Field(ge=-50.0, le=600.0)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Seconds = Annotated[float, Field(ge=0.0, le=MAX_SECONDS)]
Count = Annotated[int, Field(ge=0, le=1_000_000)]
Millimetres = Annotated[float, Field(ge=-10_000.0, le=10_000.0)]
Percent = Annotated[float, Field(ge=0.0, le=1000.0)]
