"""Turning messages into bytes and bytes from any peer back into messages.

`decode` is the one door for untrusted payloads. Whatever arrives (binary noise, huge or
deeply nested JSON, wrong types, NaN, numbers with 400 digits), it returns a valid,
frozen model or raises `ProtocolError` with a readable reason and a `RejectionCode`;
no other exception leaves it. The checks run cheapest first: byte size, UTF-8, nesting
depth, then one strict pydantic parse (JSON types only: "5" is not a number).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from protocol.base import SCHEMA_VERSION, Message, message_type
from protocol.errors import ProtocolError, RejectionCode, truncate

M = TypeVar("M", bound=Message)

MAX_NESTING = 12
MAX_ERRORS_SHOWN = 3
# A JSON string, closing quote optional so an unterminated one cannot cause rescans; linear,
# since the body is runs of plain characters between escapes.
_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_CURLY_TO_SQUARE = str.maketrans("{}", "[]")


def encode(message: Message) -> bytes:
    """The JSON bytes of `message` as the wire spells it (`schema`, ISO 8601 UTC times)."""
    payload = message.model_dump_json(by_alias=True).encode("utf-8")
    limit = type(message).max_bytes
    if len(payload) > limit:
        raise ProtocolError(
            f"{message.type} encodes to {len(payload)} bytes, over its {limit}-byte limit; "
            "send fewer items",
            RejectionCode.PAYLOAD_TOO_LARGE,
        )
    return payload


def decode(payload: bytes, model_type: type[M]) -> M:
    """Parse and validate one message of `model_type` from untrusted bytes."""
    text = _checked_text(payload, model_type.max_bytes, message_type(model_type))
    try:
        message = model_type.model_validate_json(text, strict=True)
    except ValidationError as exc:
        raise _rejection(exc, message_type(model_type), (model_type,)) from None
    except Exception as exc:  # the contract: nothing but ProtocolError leaves decode
        raise _internal(exc, message_type(model_type)) from None
    _check_envelope(message)
    return message


def decode_any(payload: bytes, model_types: Sequence[type[Message]]) -> Message:
    """Parse a message that may be any of `model_types`, chosen by its `type` field."""
    types = tuple(model_types)
    if not types:
        raise ProtocolError("no message types are accepted here", RejectionCode.WRONG_TYPE)
    what = message_type(types[0]) if len(types) == 1 else "message"
    text = _checked_text(payload, max(model.max_bytes for model in types), what)
    try:
        message: Message = _union_adapter(types).validate_json(text, strict=True)
    except ValidationError as exc:
        raise _rejection(exc, what, types) from None
    except Exception as exc:  # the contract: nothing but ProtocolError leaves decode
        raise _internal(exc, what) from None
    _check_envelope(message)
    _check_size(len(payload), type(message).max_bytes, message.type)
    return message


def _check_envelope(message: Message) -> None:
    # In Python `type` and `schema` have defaults; on the wire a peer must state both.
    missing = [
        wire
        for name, wire in (("type", "type"), ("schema_version", "schema"))
        if name not in message.model_fields_set
    ]
    if missing:
        raise ProtocolError(
            f"{message.type} rejected: every message must carry "
            + " and ".join(f"'{name}'" for name in missing)
            + f' (here: "type": "{message.type}", "schema": {SCHEMA_VERSION})',
            RejectionCode.WRONG_TYPE if "type" in missing else RejectionCode.UNSUPPORTED_SCHEMA,
        )


@lru_cache(maxsize=64)
def _union_adapter(types: tuple[type[Message], ...]) -> TypeAdapter[Any]:
    if len(types) == 1:
        return TypeAdapter(types[0])
    from typing import Annotated, Union

    from pydantic import Field

    union = Union[types]  # type: ignore[valid-type]  # noqa: UP007 - from a runtime tuple
    return TypeAdapter(Annotated[union, Field(discriminator="type")])


def _check_size(size: int, limit: int, what: str) -> None:
    if size > limit:
        raise ProtocolError(
            f"{what} payload is {size} bytes; the limit is {limit} bytes",
            RejectionCode.PAYLOAD_TOO_LARGE,
        )


def _checked_text(payload: object, limit: int, what: str) -> str:
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise ProtocolError(
            f"{what} payload must be bytes, not {type(payload).__name__}",
            RejectionCode.INVALID_ENCODING,
        )
    raw = bytes(payload)
    _check_size(len(raw), limit, what)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(
            f"{what} payload is not UTF-8: byte {exc.start} "
            f"(0x{raw[exc.start]:02x}) is invalid; payloads are UTF-8 JSON",
            RejectionCode.INVALID_ENCODING,
        ) from None
    _check_nesting(text, what)
    return text


def _check_nesting(text: str, what: str) -> None:
    """Refuse JSON nested deeper than MAX_NESTING before any parser recurses into it.

    Strings are cut out, then only brackets are kept; each pass of `replace` removes
    the innermost pairs, so a pair left after MAX_NESTING passes is nested deeper.
    Everything runs in C over the text: a hostile payload costs a few passes, not a
    Python loop per bracket."""
    if text.count("[") + text.count("{") <= MAX_NESTING:
        return
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text)).translate(_CURLY_TO_SQUARE)
    for _ in range(MAX_NESTING):
        if "[]" not in brackets:
            return  # what is left is unbalanced: the parser reports it as invalid JSON
        brackets = brackets.replace("[]", "")
    if "[]" in brackets:
        raise ProtocolError(
            f"{what} payload nests JSON deeper than {MAX_NESTING} levels; "
            "no makerfarm message is that deep",
            RejectionCode.TOO_DEEPLY_NESTED,
        )


def _internal(exc: Exception, what: str) -> ProtocolError:
    return ProtocolError(
        f"{what} could not be decoded ({type(exc).__name__})", RejectionCode.INTERNAL_ERROR
    )


def _rejection(exc: ValidationError, what: str, types: tuple[type[Message], ...]) -> ProtocolError:
    errors = exc.errors(include_url=False, include_context=True, include_input=True)
    errors.sort(key=lambda error: _error_code(error) is RejectionCode.INVALID_MESSAGE)
    code = _error_code(errors[0]) if errors else RejectionCode.INVALID_MESSAGE
    tagged = len(types) > 1  # union errors start their location with the member's type
    if tagged and errors and errors[0]["loc"] and code is not RejectionCode.WRONG_TYPE:
        what = truncate(str(errors[0]["loc"][0]), 40)
    carried = ", ".join(repr(message_type(model)) for model in types)
    shown = [_describe(error, tagged, carried) for error in errors[:MAX_ERRORS_SHOWN]]
    more = len(errors) - len(shown)
    reason = f"{what} rejected: " + "; ".join(shown)
    if more > 0:
        reason += f"; and {more} more problem{'s' if more > 1 else ''}"
    return ProtocolError(reason, code)


def _error_code(error: ErrorDetails) -> RejectionCode:
    kind, loc = error["type"], error["loc"]
    if kind == "json_invalid":
        if "recursion limit" in error["msg"]:
            return RejectionCode.TOO_DEEPLY_NESTED
        return RejectionCode.INVALID_JSON
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return RejectionCode.WRONG_TYPE
    if loc[-1:] == ("type",) and len(loc) <= 2:
        return RejectionCode.WRONG_TYPE
    if loc[-1:] == ("schema",) and len(loc) <= 2:
        return RejectionCode.UNSUPPORTED_SCHEMA
    return RejectionCode.INVALID_MESSAGE


def _field_name(loc: tuple[int | str, ...], tagged: bool) -> str:
    parts = loc[1:] if tagged and loc else loc
    return ".".join(
        truncate(str(part), 40) if isinstance(part, str) else f"[{part}]" for part in parts
    ).replace(".[", "[")


def _describe(error: ErrorDetails, tagged: bool, carried: str) -> str:
    kind, field = error["type"], _field_name(error["loc"], tagged)
    message = error["msg"].removeprefix("Value error, ")
    if kind == "json_invalid":
        return f"invalid JSON ({truncate(str(error.get('ctx', {}).get('error', message)), 120)})"
    if kind == "union_tag_invalid":
        tag = truncate(repr(error.get("ctx", {}).get("tag")), 60)
        return f"unknown type {tag}; expected one of {carried}"
    if kind == "union_tag_not_found":
        return f"the payload has no 'type' field; expected one of {carried}"
    if not field and kind in ("model_type", "model_attributes_type", "dict_type"):
        return "the payload must be a JSON object"
    if kind == "missing":
        return f"field '{field}' is required"
    if kind == "extra_forbidden":
        return f"unknown field '{field}' (not part of this message)"
    if kind == "literal_error" and field in ("type", "schema"):
        shown = truncate(repr(error.get("input")), 60)
        return f"'{field}' is {shown}: {message.replace('Input', 'it')}"
    if not field:
        return truncate(message, 300)
    return f"field '{field}': {truncate(message, 300)}"
