"""Messages between a shop and the controller: submit, cancel, status and rejections.

A shop names each job with its own `client_ref` (the idempotency key: a resubmit with
the same `client_ref` is the same job); the controller gives the job its `job_id`, which
names the job's topics. A shop follows its jobs by subscribing to
`makerfarm/v1/shops/{shop}/jobs/+/status` and matching `client_ref`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protocol.base import Message, register_message
from protocol.errors import ProtocolError, RejectionCode, printable, truncate
from protocol.fields import (
    ClientRef,
    Colour,
    Count,
    Id,
    Line,
    Material,
    Sha256,
    Text,
    UtcDateTime,
)
from protocol.states import JobState
from protocol.topics import MAX_TOPIC_CHARS


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)


class MeshFormat(StrEnum):
    STL = "stl"
    THREE_MF = "3mf"
    OBJ = "obj"


class Priority(StrEnum):
    """How urgently a shop wants a job; the scheduler weighs it with the due date."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Quality(StrEnum):
    """Print quality preset: layer height and perimeters chosen by the slicer per printer."""

    DRAFT = "draft"
    STANDARD = "standard"
    FINE = "fine"


class ShipTo(_Part):
    """Where the parts go: the scheduler prefers sites near this point."""

    lat: float = Field(ge=-90.0, le=90.0, description="latitude in degrees (WGS 84)")
    lon: float = Field(ge=-180.0, le=180.0, description="longitude in degrees (WGS 84)")


@register_message
class JobSubmit(Message):
    """A shop asks for `quantity` prints of an uploaded mesh."""

    direction = "shop -> controller"
    type: Literal["job.submit"] = "job.submit"
    client_ref: ClientRef = Field(description="the shop's own id for this job; resubmits match")
    mesh_sha256: Sha256 = Field(description="sha256 of the mesh bytes uploaded to meshes/{sha256}")
    mesh_format: MeshFormat
    material: Material = Field(description="material family, e.g. PLA, PETG, ABS, ASA, TPU, PA")
    colour: Colour = Field(description="colour name or #rrggbb, e.g. 'black'")
    quantity: int = Field(ge=1, le=1000)
    ship_to: ShipTo
    due: UtcDateTime | None = Field(
        default=None, description="when the parts must be printed (UTC)"
    )
    priority: Priority = Priority.NORMAL
    quality: Quality = Quality.STANDARD
    scale: float = Field(
        default=1.0, ge=0.01, le=100.0, description="uniform scale applied to the mesh"
    )
    notes: Text = ""


@register_message
class JobCancel(Message):
    """A shop withdraws a job: parts not yet printing are dropped, printing ones cancelled."""

    direction = "shop -> controller"
    type: Literal["job.cancel"] = "job.cancel"
    reason: Line = ""


class PartCounts(_Part):
    """How many of a job's parts are in each state; they add up to the job's quantity."""

    queued: Count = 0
    printing: Count = 0
    printed: Count = 0
    failed: Count = 0
    cancelled: Count = 0

    @property
    def total(self) -> int:
        return self.queued + self.printing + self.printed + self.failed + self.cancelled


@register_message
class JobStatus(Message):
    """The controller's current word on one job (retained on the job's status topic)."""

    direction = "controller -> shop"
    type: Literal["job.status"] = "job.status"
    job_id: Id
    client_ref: ClientRef
    state: JobState
    reason: Line = Field(default="", description="why, for rejected and failed jobs")
    code: RejectionCode | None = Field(default=None, description="machine-readable reason")
    parts: PartCounts = PartCounts()
    updated_at: UtcDateTime
    estimated_completion: UtcDateTime | None = None

    @model_validator(mode="after")
    def _refusals_say_why(self) -> JobStatus:
        if self.state in (JobState.REJECTED, JobState.FAILED) and not self.reason:
            raise ValueError(f"a {self.state} job status needs a reason")
        return self


@register_message
class Rejection(Message):
    """A refused message that has no job to report on (malformed submit, bad mesh upload)."""

    direction = "controller -> shop"
    type: Literal["rejection"] = "rejection"
    topic: str = Field(max_length=MAX_TOPIC_CHARS, description="the topic the message came on")
    code: RejectionCode
    reason: Line = Field(min_length=1, description="what was wrong and how to fix it")
    client_ref: ClientRef | None = Field(
        default=None, description="the submit's client_ref, if readable"
    )
    at: UtcDateTime

    @classmethod
    def of(
        cls, topic: str, error: ProtocolError, at: datetime, client_ref: str | None = None
    ) -> Rejection:
        """The rejection of a message that arrived on `topic` and failed with `error`.

        The topic is shortened and made printable, since it may be the hostile part."""
        shown = truncate(printable(topic), MAX_TOPIC_CHARS)
        return cls(
            topic=shown,
            code=error.code,
            reason=error.reason or error.code.value,
            client_ref=client_ref,
            at=at,
        )
