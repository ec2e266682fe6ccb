"""The bounds every input from a peer is checked against, cheapest first, before it is used.

Intake calls these before it parses or stores anything: the payload's size for its topic,
the shop's submit rate and open-job quota, a mesh upload's triangle count and (for 3MF) its
zip central directory, and a job's due date. Each refusal is a `ProtocolError` with a
`RejectionCode` and a reason the sender can act on; intake answers it on the shop's errors
topic and logs it. What the wire contract bounds already (string lengths, quantity 1-1000,
scale, nesting) is checked by `protocol.decode`; what needs the mesh parsed (NaN vertices,
extents, open edges) by `slicing.load_mesh` in a worker process.
"""

from __future__ import annotations

import io
import struct
import time
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from protocol.errors import ProtocolError, RejectionCode
from protocol.inbound import MESSAGES_BY_TOPIC_KIND
from protocol.topics import TopicKind

# name in shops.quotas -> the range `makerfarm provision` accepts
QUOTA_KEYS: dict[str, tuple[int, int]] = {
    "max_open_jobs": (1, 10_000_000),
    "submits_per_minute": (1, 1_000_000),
}
DEFAULT_SUBMITS_PER_MINUTE = 600
MAX_DUE_AHEAD = timedelta(days=366)
DUE_CLOCK_SKEW = timedelta(minutes=5)  # a shop's clock may be a little behind ours
MAX_TRIANGLES = 2_000_000  # slicing.MeshLimits' default: the same bound, checked earlier
MAX_3MF_MEMBERS = 256
MAX_3MF_UNPACKED_BYTES = 512 * 1024 * 1024
MAX_3MF_RATIO = 200  # XML compresses 10-30x; a zip bomb thousands of times
RATE_KEYS_KEPT = 100_000  # shops remembered by the rate limiter (least recent dropped)


@dataclass(frozen=True)
class ShopQuotas:
    max_open_jobs: int
    submits_per_minute: int

    @classmethod
    def of(cls, stored: dict[str, Any] | None, default_open_jobs: int) -> ShopQuotas:
        stored = stored or {}

        def value(key: str, default: int) -> int:
            low, high = QUOTA_KEYS[key]
            given = stored.get(key)
            return min(max(given, low), high) if isinstance(given, int) else default

        return cls(
            value("max_open_jobs", default_open_jobs),
            value("submits_per_minute", DEFAULT_SUBMITS_PER_MINUTE),
        )


def check_payload_size(kind: TopicKind, payload: bytes) -> None:
    """The message's size against the largest message its topic carries, before parsing."""
    models = MESSAGES_BY_TOPIC_KIND.get(kind)
    if not models:
        return
    limit = max(model.max_bytes for model in models)
    if len(payload) > limit:
        raise ProtocolError(
            f"{kind} payload is {len(payload):,} bytes; the limit for this "
            f"topic is {limit:,} bytes",
            RejectionCode.PAYLOAD_TOO_LARGE,
        )


def check_known_profile(profile_id: str | None) -> None:
    """An agent's state names a printer profile this controller has (every summary, plan
    and slice of that printer loads it), or none."""
    if profile_id is None:
        return
    from firmware_profiles import load_profile
    from firmware_profiles.errors import UnknownProfileError

    try:
        load_profile(profile_id)
    except UnknownProfileError as exc:
        raise ProtocolError(
            f"printer profile {profile_id!r} is unknown to the controller "
            f"({exc}); set the agent's profile to one of them, or add the "
            "profile to the controller",
            RejectionCode.INVALID_MESSAGE,
        ) from None


def check_open_jobs(open_jobs: int, quotas: ShopQuotas) -> None:
    if open_jobs >= quotas.max_open_jobs:
        raise ProtocolError(
            f"the shop has {open_jobs:,} open jobs, its quota is {quotas.max_open_jobs:,}; "
            "submit again when some are done (or ask the farm's operator for a larger quota)",
            RejectionCode.RATE_LIMITED,
        )


def check_due(due: datetime | None, now: datetime) -> None:
    """A due date is not in the past and not more than a year ahead."""
    if due is None:
        return
    if due < now - DUE_CLOCK_SKEW:
        raise ProtocolError(
            f"due {due.isoformat()} is in the past (now is "
            f"{now.isoformat(timespec='seconds')}); send a future date or none",
            RejectionCode.INVALID_MESSAGE,
        )
    if due > now + MAX_DUE_AHEAD:
        raise ProtocolError(
            f"due {due.isoformat()} is more than {MAX_DUE_AHEAD.days} days "
            "ahead; the farm plans at most a year ahead",
            RejectionCode.INVALID_MESSAGE,
        )


class RateLimiter:
    """A token bucket per key (shop): `per_minute` messages a minute, bursts up to that."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def check(self, key: str, per_minute: int) -> None:
        """Take one token for `key`; ProtocolError(rate_limited) when there is none."""
        now = self._clock()
        tokens, last = self._buckets.pop(key, (float(per_minute), now))
        tokens = min(float(per_minute), tokens + (now - last) * per_minute / 60.0)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        if len(self._buckets) > RATE_KEYS_KEPT:
            self._buckets.popitem(last=False)
        if not allowed:
            wait_s = (1.0 - tokens) * 60.0 / per_minute
            raise ProtocolError(
                f"more than {per_minute} messages a minute from this shop; "
                f"send again in {wait_s:.1f} s",
                RejectionCode.RATE_LIMITED,
            )


# --- mesh uploads: bounded before anything parses them ----------------------------------------


def check_mesh_upload(payload: bytes, max_triangles: int = MAX_TRIANGLES) -> None:
    """The triangle count (STL, OBJ) or the zip's central directory (3MF), read without
    parsing the mesh or unpacking anything."""
    if payload[:4] == b"PK\x03\x04" or payload[:4] == b"PK\x05\x06":
        check_3mf_archive(payload)
        return
    triangles = _declared_triangles(payload)
    if triangles > max_triangles:
        raise ProtocolError(
            f"the mesh has {triangles:,} triangles, over the limit of "
            f"{max_triangles:,}; decimate it in your CAD tool",
            RejectionCode.MESH_TOO_LARGE,
        )


def _declared_triangles(payload: bytes) -> int:
    if len(payload) >= 84:
        (count,) = struct.unpack_from("<I", payload, 80)
        if 84 + 50 * count == len(payload):
            return int(count)  # binary STL: its header counts them
    head = payload[:1024].lstrip().lower()
    if head.startswith(b"solid"):
        return payload.count(b"facet")  # ASCII STL: one "facet normal" per triangle
    # OBJ: each face line is a polygon; counting lines bounds the triangles closely enough
    return payload.count(b"\nf ") + payload.count(b"\rf ")


def check_3mf_archive(payload: bytes) -> None:
    """Members, unpacked size and compression ratio from the central directory alone."""
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, struct.error, EOFError):
        raise ProtocolError(
            "the 3MF file is not a valid zip archive (truncated?); export it again",
            RejectionCode.MESH_INVALID,
        ) from None
    if len(members) > MAX_3MF_MEMBERS:
        raise ProtocolError(
            f"the 3MF archive has {len(members):,} members, over the limit of "
            f"{MAX_3MF_MEMBERS}; export only the model",
            RejectionCode.MESH_TOO_LARGE,
        )
    unpacked = sum(member.file_size for member in members)
    if unpacked > MAX_3MF_UNPACKED_BYTES:
        raise ProtocolError(
            f"the 3MF archive unpacks to {unpacked:,} bytes, over the limit "
            f"of {MAX_3MF_UNPACKED_BYTES:,}; export a simpler mesh",
            RejectionCode.MESH_TOO_LARGE,
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > 1024 * 1024 and ratio > MAX_3MF_RATIO:
            raise ProtocolError(
                f"3MF member {member.filename[:80]!r} unpacks {ratio:,.0f} "
                f"times its size (over {MAX_3MF_RATIO}x): that is a zip bomb, "
                "not a model",
                RejectionCode.MESH_INVALID,
            )
