"""The one error a broken profile raises: which file, which key, and why.

Every problem found while reading, merging or validating a profile becomes a
`ProfileError` naming the TOML file that set the offending value, the dotted key
(`limits.max_feedrate_mm_s.x`) and a reason a person can act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


class ProfileError(ValueError):
    """A profile could not be read, merged or validated."""

    def __init__(self, file: Path | str | None, key: str | None, reason: str) -> None:
        self.file = Path(file) if file is not None else None
        self.key = key
        self.reason = reason
        super().__init__(self.__str__())

    def __reduce__(self) -> tuple[Any, ...]:
        # Slicing runs in worker processes: the error must survive pickling intact.
        return (ProfileError, (self.file, self.key, self.reason))

    def __str__(self) -> str:
        where = str(self.file) if self.file is not None else "profile"
        if self.key:
            return f"{where}: {self.key}: {self.reason}"
        return f"{where}: {self.reason}"


class UnknownProfileError(ProfileError):
    """No profile has the requested id; `known` lists the ids that exist."""

    def __init__(self, profile_id: str, known: Sequence[str]) -> None:
        self.profile_id = profile_id
        self.known = list(known)
        choices = ", ".join(self.known) if self.known else "(none)"
        reason = f"no profile with id {profile_id!r}; known profiles: {choices}"
        super().__init__(None, None, reason)

    def __reduce__(self) -> tuple[Any, ...]:
        return (UnknownProfileError, (self.profile_id, self.known))
