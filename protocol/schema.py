"""The JSON Schema registry behind `makerfarm schema`.

Any module in `protocol/` registers the models it wants published with
`register_schema(name, model)` (message models do it through `register_message`).
`collect_schemas()` imports every module of the package first, so a new module such as
`protocol/planning.py` is picked up without editing this file.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True)
class SchemaEntry:
    name: str
    model: type[BaseModel]
    direction: str


# name (a message's `type`, or e.g. "plan.instance") -> entry
SCHEMAS: dict[str, SchemaEntry] = {}


def register_schema(name: str, model: type[BaseModel], direction: str = "") -> None:
    """Publish `model`'s JSON Schema under `name` (e.g. "job.submit")."""
    existing = SCHEMAS.get(name)
    if existing is not None and existing.model is not model:
        raise ValueError(
            f"schema {name!r} is registered twice: {existing.model.__name__} and {model.__name__}"
        )
    SCHEMAS[name] = SchemaEntry(name, model, direction)


def collect_schemas() -> dict[str, SchemaEntry]:
    """Every registered schema, after importing all of `protocol/` so each module registers."""
    import protocol

    for info in pkgutil.walk_packages(protocol.__path__, prefix="protocol."):
        importlib.import_module(info.name)
    return dict(sorted(SCHEMAS.items()))


def json_schema(entry: SchemaEntry) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one entry, as the wire spells field names."""
    body = entry.model.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": JSON_SCHEMA_DIALECT, "$id": schema_file_name(entry.name), **body}


def schema_file_name(name: str) -> str:
    return f"{name}.schema.json"
