"""encode/decode: every message survives the wire unchanged, and each way a payload can be
wrong gives a ProtocolError that names the field and the reason, with a rejection code."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

import pytest

from protocol import (
    MESSAGE_TYPES,
    MESSAGES_BY_TOPIC_KIND,
    AlertList,
    JobSubmit,
    Message,
    PartState,
    PlacedPart,
    PlateList,
    PlateState,
    PlateSummary,
    PrinterState,
    ProtocolError,
    RejectionCode,
    TopicKind,
    decode,
    decode_any,
    decode_for_topic,
    encode,
)
from protocol.codec import MAX_NESTING
from protocol.inbound import topic_kinds_of
from tests.protocol.samples import AT, SAMPLES


def wire(message: Message) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(encode(message))
    return loaded


def submit_with(**changes: Any) -> bytes:
    body = wire(SAMPLES["job.submit"])
    body.update(changes)
    return json.dumps(body).encode()


def rejected(payload: bytes, model: type[Message] = JobSubmit) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        decode(payload, model)
    return caught.value


def test_every_message_type_has_a_sample() -> None:
    assert set(SAMPLES) == set(MESSAGE_TYPES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_message_survives_encode_and_decode_unchanged(name: str) -> None:
    message = SAMPLES[name]
    payload = encode(message)
    assert decode(payload, type(message)) == message
    assert encode(decode(payload, type(message))) == payload


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_message_decodes_from_every_topic_it_travels_on(name: str) -> None:
    message = SAMPLES[name]
    kinds = topic_kinds_of(type(message))
    assert kinds, f"{name} travels on no topic"
    for kind in kinds:
        assert decode_for_topic(kind, encode(message)) == message


def test_wire_names_the_version_field_schema_and_times_end_in_z() -> None:
    body = wire(SAMPLES["job.submit"])
    assert body["type"] == "job.submit"
    assert body["schema"] == 1
    assert "schema_version" not in body
    assert body["due"] == "2026-11-25T09:00:00Z"


def test_times_with_an_offset_are_stored_as_utc() -> None:
    decoded = decode(submit_with(due="2026-11-25T10:00:00+01:00"), JobSubmit)
    assert decoded.due is not None
    assert decoded.due.tzinfo is UTC
    assert decoded.due.hour == 9


def test_a_time_without_a_zone_is_refused() -> None:
    error = rejected(submit_with(due="2026-11-25T10:00:00"))
    assert "field 'due'" in str(error) and "timezone" in str(error)


def test_material_and_colour_are_normalised() -> None:
    decoded = decode(submit_with(material=" petg ", colour="Signal White"), JobSubmit)
    assert (decoded.material, decoded.colour) == ("PETG", "signal white")


def test_unknown_field_is_named() -> None:
    error = rejected(submit_with(colour_hex="#fff"))
    assert "unknown field 'colour_hex'" in str(error)
    assert error.code is RejectionCode.INVALID_MESSAGE


def test_out_of_range_value_says_the_bound() -> None:
    error = rejected(submit_with(quantity=1001))
    assert "field 'quantity'" in str(error) and "1000" in str(error)


def test_nested_field_errors_give_the_path() -> None:
    error = rejected(submit_with(ship_to={"lat": 91, "lon": 0}))
    assert "field 'ship_to.lat'" in str(error)


def test_numbers_sent_as_strings_are_refused() -> None:
    error = rejected(submit_with(quantity="5"))
    assert "field 'quantity'" in str(error) and "integer" in str(error)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_refused(literal: str) -> None:
    payload = submit_with(scale=0).replace(b'"scale": 0', b'"scale": ' + literal.encode())
    error = rejected(payload)
    assert "field 'scale'" in str(error)


def test_a_400_digit_integer_is_refused_without_converting_it() -> None:
    payload = submit_with(quantity=0).replace(b'"quantity": 0', b'"quantity": ' + b"9" * 400)
    assert "field 'quantity'" in str(rejected(payload))


def test_a_missing_type_or_schema_is_refused() -> None:
    body = wire(SAMPLES["job.cancel"])
    del body["schema"]
    error = rejected(json.dumps(body).encode(), type(SAMPLES["job.cancel"]))
    assert "'schema'" in str(error) and error.code is RejectionCode.UNSUPPORTED_SCHEMA
    del body["type"]
    error = rejected(json.dumps(body).encode(), type(SAMPLES["job.cancel"]))
    assert "'type'" in str(error) and error.code is RejectionCode.WRONG_TYPE


def test_another_schema_version_is_refused_as_unsupported() -> None:
    error = rejected(submit_with(schema=2))
    assert error.code is RejectionCode.UNSUPPORTED_SCHEMA
    assert "'schema' is 2" in str(error)


def test_a_message_of_another_type_is_refused_as_wrong_type() -> None:
    error = rejected(encode(SAMPLES["job.cancel"]))
    assert error.code is RejectionCode.WRONG_TYPE
    assert "'job.cancel'" in str(error)


def test_a_topic_carrying_several_types_names_the_one_that_was_wrong() -> None:
    body = wire(SAMPLES["cmd.cancel_part"])
    del body["part_id"]
    with pytest.raises(ProtocolError) as caught:
        decode_for_topic(TopicKind.PRINTER_CMD, json.dumps(body).encode())
    assert str(caught.value) == "cmd.cancel_part rejected: field 'part_id' is required"


def test_an_unknown_type_on_a_command_topic_lists_the_accepted_ones() -> None:
    payload = b'{"type": "cmd.self_destruct", "schema": 1}'
    with pytest.raises(ProtocolError) as caught:
        decode_for_topic(TopicKind.PRINTER_CMD, payload)
    assert caught.value.code is RejectionCode.WRONG_TYPE
    assert "'cmd.self_destruct'" in str(caught.value) and "'cmd.run_plate'" in str(caught.value)


def test_blob_topics_carry_no_messages() -> None:
    with pytest.raises(ProtocolError, match="binary payloads"):
        decode_for_topic(TopicKind.MESH, b"solid cube")
    assert TopicKind.MESH not in MESSAGES_BY_TOPIC_KIND


def test_size_is_checked_before_parsing() -> None:
    payload = b"{" + b" " * (JobSubmit.max_bytes) + b"}"
    error = rejected(payload)
    assert error.code is RejectionCode.PAYLOAD_TOO_LARGE
    assert f"the limit is {JobSubmit.max_bytes} bytes" in str(error)


def test_big_summaries_have_bigger_limits_than_commands() -> None:
    assert PlateList.max_bytes > JobSubmit.max_bytes
    assert decode_any(encode(SAMPLES["fleet.plates"]), [PlateList, AlertList]).type == (
        "fleet.plates"
    )


def test_invalid_utf8_names_the_byte() -> None:
    error = rejected(b'{"type": "job.submit", "notes": "\xff"}')
    assert error.code is RejectionCode.INVALID_ENCODING
    assert "0xff" in str(error)


def test_invalid_json_says_where() -> None:
    error = rejected(b'{"type": "job.submit",')
    assert error.code is RejectionCode.INVALID_JSON
    assert "invalid JSON" in str(error) and "line 1" in str(error)


def test_deep_nesting_is_refused_before_parsing() -> None:
    error = rejected(b"[" * 50_000 + b"]" * 50_000, PlateList)
    assert error.code is RejectionCode.TOO_DEEPLY_NESTED
    assert f"deeper than {MAX_NESTING} levels" in str(error)


def test_nesting_is_counted_exactly_at_the_limit() -> None:
    def nested_notes(levels: int) -> bytes:
        inner = "[" * levels + "]" * levels
        return submit_with(notes="X").replace(b'"X"', inner.encode())

    # The message object is level 1, so notes at MAX_NESTING - 1 levels reach the limit.
    at_limit = rejected(nested_notes(MAX_NESTING - 1))
    assert at_limit.code is RejectionCode.INVALID_MESSAGE
    assert "field 'notes'" in str(at_limit)
    assert rejected(nested_notes(MAX_NESTING)).code is RejectionCode.TOO_DEEPLY_NESTED


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    notes = "[{" * 200 + '\\"[[' * 10
    payload = submit_with(notes=notes[:1990])
    assert decode(payload, JobSubmit).notes.startswith("[{[{")


def test_a_payload_that_is_not_an_object_is_refused() -> None:
    assert "must be a JSON object" in str(rejected(b"[1, 2, 3]"))
    assert "must be a JSON object" in str(rejected(b'"job.submit"'))


def test_non_bytes_payload_is_refused() -> None:
    with pytest.raises(ProtocolError, match="must be bytes"):
        decode("{}", JobSubmit)  # type: ignore[arg-type]


def test_error_lists_a_few_problems_and_counts_the_rest() -> None:
    error = rejected(b'{"type": "job.submit", "schema": 1}')
    assert "field 'client_ref' is required" in str(error)
    assert "and 4 more problems" in str(error)


def test_hostile_field_names_are_shortened_in_the_error() -> None:
    error = rejected(submit_with(**{"x" * 5000: 1}))
    assert len(str(error)) <= 500
    assert "unknown field 'xxxx" in str(error)


def test_encode_refuses_a_message_its_receiver_would_refuse() -> None:
    square = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)) * 16
    part = PlacedPart.model_construct(
        part_id="p",
        job_id="j",
        x_mm=1.0,
        y_mm=1.0,
        rotation_deg=0.0,
        footprint=square,
        state=PartState.QUEUED,
    )
    plate = PlateSummary.model_construct(
        plate_id="pl",
        site_id="s",
        printer_id=None,
        material="PLA",
        colour="black",
        state=PlateState.PLANNED,
        bed_width_mm=250.0,
        bed_depth_mm=210.0,
        parts=(part,) * 500,
        starts_at=None,
        ends_at=None,
    )
    big = PlateList.model_construct(
        type="fleet.plates",
        schema_version=1,
        site_id="s",
        plates=(plate,) * 10,
        updated_at=AT,
    )
    with pytest.raises(ProtocolError) as caught:
        encode(big)
    assert caught.value.code is RejectionCode.PAYLOAD_TOO_LARGE
    assert "send fewer items" in str(caught.value)


def test_a_state_decoded_from_the_wire_is_frozen() -> None:
    state = decode(encode(SAMPLES["printer.state"]), PrinterState)
    with pytest.raises(ValueError, match="frozen"):
        state.sequence = 1
