"""Hostile payloads: whatever bytes a peer sends, decode returns a valid message or raises
ProtocolError with a short, printable reason. Nothing else may escape: no RecursionError,
UnicodeDecodeError, OverflowError, and no internal error from the catch-all."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import (
    MESSAGE_TYPES,
    Message,
    ProtocolError,
    RejectionCode,
    decode,
    decode_any,
    encode,
)
from protocol.errors import MAX_ERROR_CHARS
from tests.protocol.samples import SAMPLES

ALL_TYPES = tuple(MESSAGE_TYPES.values())
NAMES = sorted(SAMPLES)
RAW = "__raw_token__"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

hostile_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([10**400, -(10**400), 2**63, -(2**63) - 1, 2**53 + 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["5", "1e3", "NaN", "null", "2026-11-23", "2026-11-23T10:00:00", "PLA"]),
    st.text(min_size=5_000, max_size=9_000, alphabet="ab\n\x00\u2028"),
)
json_values = st.recursive(
    hostile_scalars,
    lambda inner: (
        st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=40,
)
# Raw JSON tokens that json.dumps would never write: pasted in place of a value.
raw_tokens = st.sampled_from(
    [
        "9" * 5000,
        "-" + "9" * 5000,
        "1e99999",
        "-1e99999",
        "NaN",
        "Infinity",
        "-Infinity",
        "0x10",
        "01",
        "1.",
        ".5",
        "+1",
        "tru",
        "nul",
        '"\\ud800"',
        '"\\u0000"',
        "[" * 5000,
        '"' + "\\" * 3001 + '"',
        "{" * 13 + "}" * 13,
        "[]" * 100,
    ]
)


def check_outcome(payload: bytes, types: tuple[type[Message], ...] = ALL_TYPES) -> Message | None:
    """Decode and hold the contract: a message, or a clean ProtocolError; never anything else."""
    try:
        if len(types) == 1:
            return decode(payload, types[0])
        return decode_any(payload, types)
    except ProtocolError as error:
        reason = str(error)
        assert reason, "a rejection must say why"
        assert len(reason) <= MAX_ERROR_CHARS
        assert reason.isprintable(), repr(reason)
        assert error.code is not RejectionCode.INTERNAL_ERROR, reason
        return None


def leaf_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a decoded JSON value, containers included."""
    paths = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            paths += leaf_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths += leaf_paths(item, (*prefix, index))
    return paths


def replaced(body: Any, path: tuple[Any, ...], new: Any) -> Any:
    body = copy.deepcopy(body)
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return body


@FUZZ
@given(st.binary(max_size=3000))
def test_random_bytes_never_escape_as_anything_but_protocol_error(payload: bytes) -> None:
    check_outcome(payload)


@FUZZ
@given(json_values, st.sampled_from([*NAMES, None]))
def test_random_json_values_are_refused_cleanly(value: Any, as_type: str | None) -> None:
    if as_type is not None and isinstance(value, dict):
        value = {**value, "type": as_type, "schema": 1}
    payload = json.dumps(value, allow_nan=True).encode()
    check_outcome(payload)
    if as_type is not None:
        check_outcome(payload, (MESSAGE_TYPES[as_type],))


@FUZZ
@given(st.sampled_from(NAMES), st.data())
def test_truncated_valid_payloads_are_invalid_json(name: str, data: st.DataObject) -> None:
    payload = encode(SAMPLES[name])
    cut = data.draw(st.integers(min_value=0, max_value=len(payload) - 1))
    assert check_outcome(payload[:cut], (type(SAMPLES[name]),)) is None
    assert check_outcome(payload[:cut]) is None


@FUZZ
@given(st.sampled_from(NAMES), st.data())
def test_type_confused_fields_are_refused_or_valid(name: str, data: st.DataObject) -> None:
    body = json.loads(encode(SAMPLES[name]))
    path = data.draw(st.sampled_from(leaf_paths(body)))
    payload = json.dumps(replaced(body, path, data.draw(json_values)), allow_nan=True).encode()
    decoded = check_outcome(payload, (type(SAMPLES[name]),))
    if decoded is not None:
        assert decoded.type == name


@FUZZ
@given(st.sampled_from(NAMES), st.data(), raw_tokens)
def test_raw_hostile_tokens_in_any_field_are_refused(
    name: str, data: st.DataObject, token: str
) -> None:
    body = json.loads(encode(SAMPLES[name]))
    path = data.draw(st.sampled_from(leaf_paths(body)))
    text = json.dumps(replaced(body, path, RAW)).replace(f'"{RAW}"', token)
    decoded = check_outcome(text.encode(), (type(SAMPLES[name]),))
    assert decoded is None or decoded.type == name


@FUZZ
@given(st.sampled_from(NAMES), st.data(), st.integers(min_value=5_000, max_value=80_000))
def test_oversized_strings_are_refused(name: str, data: st.DataObject, size: int) -> None:
    body = json.loads(encode(SAMPLES[name]))
    strings = [path for path in leaf_paths(body) if isinstance(_at(body, path), str)]
    path = data.draw(st.sampled_from(strings))
    payload = json.dumps(replaced(body, path, "é" * size)).encode()
    assert check_outcome(payload, (type(SAMPLES[name]),)) is None


@FUZZ
@given(st.integers(min_value=13, max_value=100_000), st.sampled_from(NAMES))
def test_deeply_nested_arrays_are_refused(depth: int, name: str) -> None:
    bare = b"[" * depth + b"]" * depth
    assert check_outcome(bare) is None
    body = json.loads(encode(SAMPLES[name]))
    nested = json.dumps(replaced(body, leaf_paths(body)[-1], RAW))
    payload = nested.replace(f'"{RAW}"', "[" * depth + "]" * depth).encode()
    assert check_outcome(payload, (type(SAMPLES[name]),)) is None


def test_a_hundred_thousand_open_brackets_are_refused() -> None:
    for payload in (b"[" * 100_000, b'{"a":' * 100_000, b"[" * 60_000 + b"]" * 60_000):
        assert check_outcome(payload) is None
        assert check_outcome(payload, (type(SAMPLES["fleet.plates"]),)) is None


def _at(body: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        body = body[step]
    return body
