"""Hostile payloads for every topic the controller reads, as hypothesis strategies.

Each strategy draws one `Hostile(topic, payload)`: random bytes, a valid sample message cut
short, padded past its topic's size limit, nested deeper than the codec allows, or with one
field swapped for a value of the wrong JSON type (or a raw token JSON never writes), and
for mesh uploads bytes whose hash is not the one the topic names or a broken 3MF archive.
`refused_locally` is the oracle: the same limits and decoder the controller uses must refuse
the payload, so a strategy never hands the running controller a message it should accept.
The draws are cheap in entropy (sizes and depths are drawn as numbers, not as bytes), so a
batch of a hundred fits in one hypothesis example.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from controller.security.limits import MAX_3MF_MEMBERS, check_mesh_upload, check_payload_size
from protocol import topics
from protocol.base import Message
from protocol.blobs import check_blob
from protocol.errors import ProtocolError
from protocol.inbound import MESSAGES_BY_TOPIC_KIND, decode_for_topic
from protocol.topics import TopicKind
from tests.protocol.samples import SAMPLES
from tests.security.hostile_farm import FUZZ_SHOPS

MAX_MESH_BYTES = 50 * 1024 * 1024  # ControllerSettings' default mesh limit
# The topics the controller subscribes to, and which of them carry JSON messages.
JSON_KINDS = (
    TopicKind.JOB_SUBMIT,
    TopicKind.JOB_CANCEL,
    TopicKind.PRINTER_STATE,
    TopicKind.PRINTER_EVENTS,
    TopicKind.STAFF_CMD,
)
INBOUND_KINDS = (TopicKind.MESH, *JSON_KINDS)


@dataclass(frozen=True)
class Hostile:
    kind: TopicKind
    topic: str
    payload: bytes
    how: str  # which mutation made it, for a failure report


def samples_for(kind: TopicKind) -> list[Message]:
    models = MESSAGES_BY_TOPIC_KIND[kind]
    return [sample for sample in SAMPLES.values() if type(sample) in models]


def refused_locally(kind: TopicKind, topic: str, payload: bytes) -> bool:
    """Whether the controller's own checks refuse this payload on this topic."""
    try:
        if kind is TopicKind.MESH:
            parsed = topics.parse_topic(topic)
            assert parsed.sha256 is not None
            check_blob(payload, parsed.sha256, MAX_MESH_BYTES, "mesh")
            check_mesh_upload(payload)
            return False
        check_payload_size(kind, payload)
        decode_for_topic(kind, payload)
    except ProtocolError:
        return True
    return False


# --- topics: several shops, sites and printers, so no one id's rate limit decides --------

ids = st.integers(min_value=0, max_value=9).map(lambda n: f"fz{n}")
shops = st.sampled_from(FUZZ_SHOPS)


@st.composite
def topic_of(draw: st.DrawFn, kind: TopicKind) -> str:
    if kind is TopicKind.JOB_SUBMIT:
        return topics.job_submit_topic(draw(shops))
    if kind is TopicKind.JOB_CANCEL:
        return topics.job_cancel_topic(draw(shops), "j-" + draw(ids))
    if kind is TopicKind.PRINTER_STATE:
        return topics.printer_state_topic("site-" + draw(ids), "p-" + draw(ids))
    if kind is TopicKind.PRINTER_EVENTS:
        return topics.printer_events_topic("site-" + draw(ids), "p-" + draw(ids))
    assert kind is TopicKind.STAFF_CMD
    return topics.staff_cmd_topic("site-" + draw(ids))


# --- JSON payloads ---------------------------------------------------------------------------

wrong_values = st.sampled_from(
    [
        [[["deep"]]],
        {"unexpected": [1, 2]},
        "a string",
        True,
        -1,
        10**30,
        1.5e308,
        "",
        "2026-13-45T99:99:99Z",
        "x" * 5000,
        [None] * 50,
        {"": {}},
        "\u0000\ud7ff",
    ]
)
raw_tokens = st.sampled_from(
    [
        "NaN",
        "Infinity",
        "-Infinity",
        "1e99999",
        "9" * 5000,
        "0x10",
        "01",
        "tru",
        "nul",
        '"\\ud800"',
        "[" * 40,
        "{" * 13 + "}" * 13,
        '"unterminated',
        "'single'",
    ]
)


def json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON value, containers included."""
    paths = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            paths += json_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths += json_paths(item, (*prefix, index))
    return paths


def _replace(body: Any, path: tuple[Any, ...], new: Any) -> Any:
    body = json.loads(json.dumps(body))
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return body


@st.composite
def json_payload(draw: st.DrawFn, kind: TopicKind) -> tuple[bytes, str]:
    sample = draw(st.sampled_from(samples_for(kind)))
    valid = sample.model_dump_json(by_alias=True).encode()
    body = json.loads(valid)
    how = draw(
        st.sampled_from(
            ["random", "truncated", "oversized", "nested", "confused", "raw", "wrong-type"]
        )
    )
    if how == "random":
        return draw(st.binary(min_size=1, max_size=96)), how
    if how == "truncated":
        return valid[: draw(st.integers(min_value=1, max_value=len(valid) - 1))], how
    if how == "oversized":
        limit = max(model.max_bytes for model in MESSAGES_BY_TOPIC_KIND[kind])
        extra = draw(st.integers(min_value=limit - len(valid) + 1, max_value=limit + 4096))
        return valid[:-1] + b" " * extra + b"}", how
    if how == "nested":
        depth = draw(st.integers(min_value=13, max_value=20_000))
        key = draw(st.sampled_from(sorted(body)))
        return (valid[:-1] + f', "{key}x": '.encode() + b"[" * depth + b"]" * depth + b"}", how)
    path = draw(st.sampled_from(json_paths(body)))
    if how == "confused":
        return json.dumps(_replace(body, path, draw(wrong_values))).encode(), how
    if how == "raw":
        marker = "\u0001raw\u0001"
        text = json.dumps(_replace(body, path, marker))
        return text.replace(json.dumps(marker), draw(raw_tokens)).encode(), how
    # a well-formed message of another topic's type: the wrong type here
    other = draw(
        st.sampled_from(
            [s for s in SAMPLES.values() if type(s) not in MESSAGES_BY_TOPIC_KIND[kind]]
        )
    )
    return other.model_dump_json(by_alias=True).encode(), "wrong-type"


# --- mesh uploads ----------------------------------------------------------------------------


def crowded_3mf(members: int) -> bytes:
    """A small, valid zip with more members than a 3MF may have."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for n in range(members):
            archive.writestr(f"3D/m{n}.model", b"")
    return out.getvalue()


@st.composite
def mesh_upload(draw: st.DrawFn) -> tuple[str, bytes, str]:
    shop = draw(shops)
    how = draw(st.sampled_from(["wrong-hash", "broken-3mf", "crowded-3mf"]))
    if how == "wrong-hash":
        payload = draw(st.binary(min_size=0, max_size=96))
        named = hashlib.sha256(payload + b"-not-these-bytes").hexdigest()
        return topics.mesh_topic(shop, named), payload, how
    if how == "broken-3mf":
        payload = b"PK\x03\x04" + draw(st.binary(max_size=64))
    else:
        payload = crowded_3mf(draw(st.integers(min_value=MAX_3MF_MEMBERS + 1, max_value=400)))
    return topics.mesh_topic(shop, hashlib.sha256(payload).hexdigest()), payload, how


@st.composite
def hostile_message(draw: st.DrawFn) -> Hostile:
    kind = draw(st.sampled_from(INBOUND_KINDS))
    if kind is TopicKind.MESH:
        topic, payload, how = draw(mesh_upload())
    else:
        topic = draw(topic_of(kind))
        payload, how = draw(json_payload(kind))
    return Hostile(kind, topic, payload, how)


def hostile_batches(size: int) -> st.SearchStrategy[list[Hostile]]:
    refused = hostile_message().filter(lambda h: refused_locally(h.kind, h.topic, h.payload))
    return st.lists(refused, min_size=size, max_size=size)
