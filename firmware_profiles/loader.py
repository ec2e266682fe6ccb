"""Find, read, merge and validate printer profiles.

Profiles are TOML files named `<id>.toml`: the shipped ones in
`firmware_profiles/profiles/`, and any extra directories a farm adds for its own
printers. A profile may inherit from any other profile in those directories (see
`inheritance.py`). Loading one validates it completely (types and ranges, unknown
keys, templates, cross-section checks) and any problem is a `ProfileError` that
names the file, the dotted key and the reason.

Loaded profiles are cached per set of directories. A `Profile` is frozen; treat
its lists and tables as read-only too, since every caller shares the cached one.
"""

from __future__ import annotations

import difflib
import json
import math
import tomllib
import typing
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from firmware_profiles.checks import profile_problems
from firmware_profiles.errors import ProfileError, UnknownProfileError
from firmware_profiles.inheritance import Key, MergedProfile, ProfileSource, merge_chain
from firmware_profiles.model import Profile, Templates
from firmware_profiles.templates import TemplateError, check_template

PACKAGED_DIR = Path(__file__).resolve().parent / "profiles"
DirList = Iterable[Path | str]
_Problem = tuple[Path, str, str]  # file, dotted key, reason


def load_profile(profile_id: str, extra_dirs: DirList = ()) -> Profile:
    """The shipped (or extra-directory) profile `profile_id`, inheritance resolved."""
    return _library(_dir_key(extra_dirs)).load(profile_id)


def list_profiles(extra_dirs: DirList = ()) -> list[Profile]:
    """Every non-abstract profile, shipped and from `extra_dirs`, sorted by id."""
    return _library(_dir_key(extra_dirs)).profiles()


def load_profile_file(path: Path | str, extra_dirs: DirList = ()) -> Profile:
    """One profile file; its parents may sit beside it, in `extra_dirs` or be shipped ones."""
    path = Path(path)
    if not path.is_file():
        raise ProfileError(path, None, "no such profile file")
    library = ProfileLibrary([path.parent, *extra_dirs])
    source = library.source(path.stem)
    if source.path.resolve() != path.resolve():
        raise ProfileError(
            path,
            "id",
            f"the id {path.stem!r} is already used by {source.path}; "
            "rename this file and its id (it may inherit from the other)",
        )
    return library.load(path.stem)


def load_profiles_dir(path: Path | str, extra_dirs: DirList = ()) -> list[Profile]:
    """Validate every profile in a directory (abstract ones too); return the concrete ones."""
    directory = Path(path)
    library = ProfileLibrary([directory, *extra_dirs])
    found = [library.check(profile_id) for profile_id in library.ids_in(directory)]
    return [profile for profile in found if profile is not None]


def clear_profile_cache() -> None:
    """Forget every loaded profile, so the next load reads the files again."""
    _library.cache_clear()


class ProfileLibrary:
    """The profiles of the shipped directory plus extra directories, loaded on demand."""

    def __init__(self, extra_dirs: DirList = ()) -> None:
        self.dirs = _unique_dirs([PACKAGED_DIR, *(Path(d) for d in extra_dirs)])
        self._paths = _index(self.dirs)
        self._sources: dict[str, ProfileSource] = {}
        self._profiles: dict[str, Profile] = {}

    def ids(self) -> list[str]:
        """Every profile id, abstract ones included."""
        return sorted(self._paths)

    def ids_in(self, directory: Path) -> list[str]:
        """The ids whose files are in `directory`."""
        where = directory.resolve()
        return sorted(i for i, p in self._paths.items() if p.parent.resolve() == where)

    def source(self, profile_id: str) -> ProfileSource:
        """The raw file of `profile_id`; UnknownProfileError if there is none."""
        if profile_id not in self._paths:
            raise UnknownProfileError(profile_id, self._readable_concrete_ids())
        if profile_id not in self._sources:
            self._sources[profile_id] = _read_source(self._paths[profile_id])
        return self._sources[profile_id]

    def concrete_ids(self) -> list[str]:
        """The ids of the profiles that are not abstract (reads every file)."""
        return [i for i in self.ids() if self.source(i).data.get("abstract") is not True]

    def _readable_concrete_ids(self) -> list[str]:
        # For "did you mean" lists: a broken file elsewhere must not hide the real mistake.
        known: list[str] = []
        for profile_id in self.ids():
            try:
                if self.source(profile_id).data.get("abstract") is not True:
                    known.append(profile_id)
            except ProfileError:
                continue
        return known

    def load(self, profile_id: str) -> Profile:
        """The validated profile; abstract ones cannot be loaded on their own."""
        profile = self.check(profile_id)
        if profile is None:
            raise ProfileError(
                self.source(profile_id).path,
                "abstract",
                f"{profile_id} is an abstract base profile; load a profile that inherits from it",
            )
        return profile

    def check(self, profile_id: str) -> Profile | None:
        """Validate `profile_id`; the Profile, or None for a (checked) abstract one."""
        if profile_id in self._profiles:
            return self._profiles[profile_id]
        merged = merge_chain(self.source(profile_id), self._parent, self.ids)
        _raise_if_any(_key_problems(merged) + _template_problems(merged))
        if merged.data.get("abstract") is True:
            return None
        profile = _validate(merged)
        self._profiles[profile_id] = profile
        return profile

    def profiles(self) -> list[Profile]:
        """Every concrete profile, validated, sorted by id."""
        return [self.load(profile_id) for profile_id in self.concrete_ids()]

    def _parent(self, profile_id: str) -> ProfileSource | None:
        return self.source(profile_id) if profile_id in self._paths else None


@lru_cache(maxsize=16)
def _library(dirs: tuple[str, ...]) -> ProfileLibrary:
    return ProfileLibrary(dirs)


def _dir_key(extra_dirs: DirList) -> tuple[str, ...]:
    return tuple(str(Path(d).resolve()) for d in extra_dirs)


def _unique_dirs(dirs: Sequence[Path]) -> list[Path]:
    unique: list[Path] = []
    for directory in dirs:
        if not directory.is_dir():
            raise ProfileError(directory, None, "profiles directory does not exist")
        if all(directory.resolve() != seen.resolve() for seen in unique):
            unique.append(directory)
    return unique


def _index(dirs: Sequence[Path]) -> dict[str, Path]:
    paths: dict[str, Path] = {}
    for directory in dirs:
        for path in sorted(directory.glob("*.toml")):
            if path.stem in paths:
                raise ProfileError(
                    path,
                    "id",
                    f"profile id {path.stem!r} is also defined by "
                    f"{paths[path.stem]}; give this one another id and file name "
                    "(it may inherit from the other)",
                )
            paths[path.stem] = path
    return paths


def _read_source(path: Path) -> ProfileSource:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(path, None, f"not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ProfileError(path, None, f"cannot read the file: {exc.strerror}") from exc
    if data.get("id") != path.stem:
        found = f"it is {data['id']!r}" if "id" in data else "it is missing"
        raise ProfileError(
            path, "id", f"must be {path.stem!r}, the file name without .toml; " + found
        )
    if "inherits" in data and not isinstance(data["inherits"], str):
        raise ProfileError(path, "inherits", "must be the id of another profile, as a string")
    if "abstract" in data and not isinstance(data["abstract"], bool):
        raise ProfileError(path, "abstract", "must be true or false")
    return ProfileSource(path=path, data=data)


def _validate(merged: MergedProfile) -> Profile:
    document = json.dumps(merged.data, default=str)
    try:
        profile = Profile.model_validate_json(document, strict=True)
    except ValidationError as exc:
        _raise_if_any([_pydantic_problem(merged, error) for error in exc.errors()])
        raise  # pragma: no cover - errors() is never empty
    _raise_if_any(
        [
            (merged.file_for(tuple(key.split("."))), key, reason)
            for key, reason in profile_problems(profile)
        ]
    )
    return profile


def _pydantic_problem(merged: MergedProfile, error: Any) -> _Problem:
    loc = tuple(str(part) for part in error["loc"])
    key = _dotted(error["loc"])
    if error["type"] == "missing":
        reason = "required, but neither this profile nor its parents set it"
    else:
        reason = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] != "value_error":
            shown = repr(error["input"])
            reason += f" (got {shown if len(shown) <= 80 else shown[:77] + '...'})"
    return merged.file_for(loc), key, reason


def _dotted(loc: Sequence[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _raise_if_any(problems: list[_Problem]) -> None:
    if not problems:
        return
    file, key, reason = problems[0]
    if len(problems) > 1:
        others = "; ".join(f"{k}: {r}" for _f, k, r in problems[1:6])
        more = f" (+{len(problems) - 6} more)" if len(problems) > 6 else ""
        reason += f" -- also {others}{more}"
    raise ProfileError(file, key, reason)


def _key_problems(merged: MergedProfile) -> list[_Problem]:
    return [
        (merged.file_for(key), ".".join(key), reason)
        for key, reason in _unknown_keys(merged.data, Profile, ())
    ]


def _unknown_keys(
    data: dict[str, Any], model: type[BaseModel], prefix: Key
) -> list[tuple[Key, str]]:
    problems: list[tuple[Key, str]] = []
    fields = model.model_fields
    for key, value in data.items():
        here = (*prefix, key)
        if key not in fields:
            hint = difflib.get_close_matches(key, list(fields), n=1)
            reason = (
                f"unknown key; did you mean {hint[0]!r}?"
                if hint
                else ("unknown key; this table's keys are: " + ", ".join(fields))
            )
            problems.append((here, reason))
            continue
        if isinstance(value, float) and not math.isfinite(value):
            problems.append((here, f"must be a finite number, not {value}"))
        section, per_name = _section_model(fields[key].annotation)
        if section is None or not isinstance(value, dict):
            continue
        if not per_name:
            problems += _unknown_keys(value, section, here)
            continue
        for name, entry in value.items():
            if isinstance(entry, dict):
                problems += _unknown_keys(entry, section, (*here, name))
    return problems


def _section_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """(model, keyed by name) for a field holding a table or a table of tables."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is dict and len(args) == 2:
        value = args[1]
        if isinstance(value, type) and issubclass(value, BaseModel):
            return value, True
    return None, False


def _template_problems(merged: MergedProfile) -> list[_Problem]:
    templates = merged.data.get("gcode")
    if not isinstance(templates, dict):
        return []
    problems: list[_Problem] = []
    for name in Templates.model_fields:
        text = templates.get(name)
        if not isinstance(text, str):
            continue
        try:
            check_template(text)
        except TemplateError as exc:
            problems.append((merged.file_for(("gcode", name)), f"gcode.{name}", str(exc)))
    return problems
