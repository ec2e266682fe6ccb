"""Profile inheritance: `inherits = "parent-id"` deep-merges the parent under the child.

Tables merge key by key, recursively (so `[materials.PLA]` in a child changes only
the keys it names of the parent's PLA, and adds materials the parent lacks); every
other value, lists included, is replaced by the child's. `id`, `name`, `url`,
`abstract` and `inherits` belong to each file and are never inherited: a profile
says itself what it is and where its figures come from. The merge remembers which
file set each key, so an error later names the file that holds the bad value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firmware_profiles.errors import ProfileError

Key = tuple[str, ...]
_OWN_KEYS = ("id", "name", "url", "abstract", "inherits")


@dataclass(frozen=True)
class ProfileSource:
    """One profile file as read: where it is and its raw TOML tables."""

    path: Path
    data: dict[str, Any]

    @property
    def parent_id(self) -> str | None:
        parent = self.data.get("inherits")
        return parent if isinstance(parent, str) else None


@dataclass
class MergedProfile:
    """A profile's data with its ancestors merged in, and which file set each key."""

    source: ProfileSource
    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[Key, Path] = field(default_factory=dict)

    def file_for(self, key: Key) -> Path:
        """The file that set `key` (or its nearest table), else the profile's own file."""
        for end in range(len(key), 0, -1):
            found = self.origins.get(key[:end])
            if found is not None:
                return found
        return self.source.path


def merge_chain(
    source: ProfileSource,
    lookup: Callable[[str], ProfileSource | None],
    known_ids: Callable[[], list[str]],
) -> MergedProfile:
    """Merge `source` over its ancestors, root first.

    `lookup` finds a parent by id (None when unknown). Unknown parents and cycles
    raise ProfileError naming the file whose `inherits` is at fault.
    """
    chain = [source]
    seen = {str(source.data.get("id"))}
    current = source
    while current.parent_id is not None:
        parent_id = current.parent_id
        if parent_id in seen:
            names = " -> ".join([*(str(s.data.get("id")) for s in chain), parent_id])
            raise ProfileError(current.path, "inherits", f"inheritance cycle: {names}")
        parent = lookup(parent_id)
        if parent is None:
            raise ProfileError(
                current.path,
                "inherits",
                f"unknown parent profile {parent_id!r}; known profiles: " + ", ".join(known_ids()),
            )
        chain.append(parent)
        seen.add(parent_id)
        current = parent
    merged = MergedProfile(source=source)
    for layer in reversed(chain):
        inheritable = {k: v for k, v in layer.data.items() if k not in _OWN_KEYS}
        _merge_into(merged.data, inheritable, (), layer.path, merged.origins)
    for key in _OWN_KEYS:
        if key in source.data:
            merged.data[key] = source.data[key]
            merged.origins[(key,)] = source.path
    return merged


def _merge_into(
    target: dict[str, Any], layer: dict[str, Any], prefix: Key, path: Path, origins: dict[Key, Path]
) -> None:
    for key, value in layer.items():
        here = (*prefix, key)
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_into(target[key], value, here, path, origins)
            continue
        target[key] = _copy(value)
        _forget_below(origins, here)
        origins[here] = path
        if isinstance(value, dict):
            _record_origins(value, here, path, origins)


def _record_origins(
    table: dict[str, Any], prefix: Key, path: Path, origins: dict[Key, Path]
) -> None:
    for key, value in table.items():
        origins[(*prefix, key)] = path
        if isinstance(value, dict):
            _record_origins(value, (*prefix, key), path, origins)


def _forget_below(origins: dict[Key, Path], key: Key) -> None:
    for stale in [k for k in origins if len(k) > len(key) and k[: len(key)] == key]:
        del origins[stale]


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
