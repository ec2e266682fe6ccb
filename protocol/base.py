"""The base of every message model and the registry that maps `type` to its model.

Each message is one pydantic model with a `type` literal and a `schema` version (held as
`schema_version` in Python, because `BaseModel.schema` is taken). Models are strict:
unknown fields are rejected, values are frozen, NaN and infinities are refused. Each
model module registers its models with `register_message`, so receivers, the codec and
`makerfarm schema` find them without a central list.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from protocol.schema import register_schema

SCHEMA_VERSION: Literal[1] = 1
DEFAULT_MAX_BYTES = 64 * 1024


def _require_envelope_in_schema(schema: dict[str, Any]) -> None:
    required = schema.setdefault("required", [])
    for name in ("type", "schema"):
        if name not in required:
            required.insert(0, name)


class Message(BaseModel):
    """One message on the wire. Subclasses set `type` and may raise `max_bytes`."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        allow_inf_nan=False,
        str_max_length=4096,
        json_schema_extra=_require_envelope_in_schema,
        # Each model's validator is built on first use: an agent on a Pi uses a handful of
        # the message types and saves the memory of the rest (about 3 MB).
        defer_build=True,
    )

    # Largest encoded payload this message may have; checked before any JSON parsing.
    max_bytes: ClassVar[int] = DEFAULT_MAX_BYTES
    # Who sends it, for the schema index and the README: "shop -> controller".
    direction: ClassVar[str] = ""

    type: str
    schema_version: Literal[1] = Field(
        default=SCHEMA_VERSION, alias="schema", description="version of this message's schema"
    )


M = TypeVar("M", bound=Message)

# type string -> model, filled by register_message().
MESSAGE_TYPES: dict[str, type[Message]] = {}


def message_type(model: type[Message]) -> str:
    """The wire `type` string of a message model."""
    default = model.model_fields["type"].default
    if not isinstance(default, str):
        raise TypeError(f"{model.__name__} does not declare a literal type default")
    return default


def register_message(model: type[M]) -> type[M]:
    """Add a message model to the registry (usable as a class decorator)."""
    name = message_type(model)
    existing = MESSAGE_TYPES.get(name)
    if existing is not None and existing is not model:
        raise ValueError(
            f"message type {name!r} is registered twice: {existing.__name__} and {model.__name__}"
        )
    MESSAGE_TYPES[name] = model
    register_schema(name, model, direction=model.direction)
    return model
