"""The two errors the wire contract raises, and the machine-readable rejection codes.

`ProtocolError` is the only exception `decode` lets out: whatever a peer sends, the
receiver gets one of these with a message a person can act on and a `code` it can put
straight into a `Rejection`. `TopicError` is the same for topic strings.
"""

from __future__ import annotations

from enum import StrEnum

MAX_ERROR_CHARS = 500


class RejectionCode(StrEnum):
    """Why something a peer sent was refused. Stable strings: clients may switch on them."""

    INVALID_TOPIC = "invalid_topic"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    INVALID_ENCODING = "invalid_encoding"
    INVALID_JSON = "invalid_json"
    TOO_DEEPLY_NESTED = "too_deeply_nested"
    WRONG_TYPE = "wrong_type"
    UNSUPPORTED_SCHEMA = "unsupported_schema"
    INVALID_MESSAGE = "invalid_message"
    MESH_HASH_MISMATCH = "mesh_hash_mismatch"
    MESH_TOO_LARGE = "mesh_too_large"
    MESH_INVALID = "mesh_invalid"
    MESH_MISSING = "mesh_missing"
    MATERIAL_UNAVAILABLE = "material_unavailable"
    DOES_NOT_FIT = "does_not_fit"
    CLIENT_REF_CONFLICT = "client_ref_conflict"
    UNKNOWN_JOB = "unknown_job"
    JOB_FINISHED = "job_finished"
    NOT_AUTHORISED = "not_authorised"
    RATE_LIMITED = "rate_limited"
    INTERNAL_ERROR = "internal_error"


def truncate(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """`text` cut to `limit` characters with a visible ellipsis, so errors stay readable."""
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def printable(text: str) -> str:
    """`text` with every non-printable character (newlines, controls) replaced by '?'."""
    return "".join(char if char.isprintable() else "?" for char in text)


class ProtocolError(ValueError):
    """A payload or topic that breaks the wire contract. `str()` is the human reason."""

    def __init__(self, reason: str, code: RejectionCode = RejectionCode.INVALID_MESSAGE) -> None:
        self.reason = truncate(printable(reason))
        self.code = code
        super().__init__(self.reason)


class TopicError(ProtocolError):
    """A topic string that is not one of ours, or not well formed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, RejectionCode.INVALID_TOPIC)
