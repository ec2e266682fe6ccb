"""`makerfarm submit`: a shop uploads a mesh, submits a job and follows its status.

It speaks only the wire contract (protocol's topics and models) over paho-mqtt, so it is
exactly what a shop's own client does: publish the mesh bytes to
`shops/{shop}/meshes/{sha256}` (QoS 1), publish a `JobSubmit` to `shops/{shop}/jobs/submit`,
then read the retained `JobStatus` of the job with this `client_ref` until it is final.
A resubmit with the same `--client-ref` is the same job, so running the command again after
a network failure is safe.

Exit codes: 0 done (or accepted, with --no-wait), 1 rejected/failed/cancelled, 2 bad
arguments or mesh file, 3 no answer from the broker or controller in time.
"""

from __future__ import annotations

import argparse
import hashlib
import queue
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from controller.shop_link import ShopLink, ShopLinkError
from protocol import topics
from protocol.codec import encode
from protocol.messages.jobs import (
    JobStatus,
    JobSubmit,
    MeshFormat,
    Priority,
    Quality,
    Rejection,
    ShipTo,
)
from protocol.states import FINAL_JOB_STATES, JobState

DEFAULT_BROKER = "mqtt://127.0.0.1:1883"
EXIT_DONE, EXIT_REFUSED, EXIT_USAGE, EXIT_TIMEOUT = 0, 1, 2, 3
FORMATS = {".stl": MeshFormat.STL, ".3mf": MeshFormat.THREE_MF, ".obj": MeshFormat.OBJ}


class SubmitFailed(Exception):
    """Something the person running the command must fix; the text says what."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("mesh", type=Path, help="the mesh file (.stl, .3mf or .obj)")
    parser.add_argument("--shop", required=True, help="your shop id, e.g. acme-gifts")
    parser.add_argument("--material", required=True, help="PLA, PETG, ABS, ASA, TPU, ...")
    parser.add_argument("--colour", "--color", required=True, help="e.g. black or #ff8800")
    parser.add_argument("--quantity", type=int, default=1, help="how many prints (1-1000)")
    parser.add_argument(
        "--ship-to", required=True, metavar="LAT,LON", help="where the parts go, e.g. 52.52,13.40"
    )
    parser.add_argument("--due", help="when the parts must be printed, ISO 8601 with zone")
    parser.add_argument("--priority", choices=[p.value for p in Priority], default="normal")
    parser.add_argument("--quality", choices=[q.value for q in Quality], default="standard")
    parser.add_argument("--notes", default="", help="free text for the farm")
    parser.add_argument(
        "--client-ref",
        help="your id for this job (default: a new one); "
        "submitting again with the same one is the same job",
    )
    parser.add_argument(
        "--broker",
        default=DEFAULT_BROKER,
        help=f"mqtt[s]://user:pass@host:port (default {DEFAULT_BROKER})",
    )
    parser.add_argument(
        "--no-wait", action="store_true", help="exit once the job is accepted or rejected"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds to wait for the controller's first answer (default 60)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print each status as one JSON line instead of progress text",
    )


def _ship_to(text: str) -> ShipTo:
    try:
        lat_text, lon_text = text.split(",")
        return ShipTo(lat=float(lat_text), lon=float(lon_text))
    except (ValueError, ValidationError):
        raise SubmitFailed(
            f"--ship-to {text!r} must be LAT,LON in degrees, e.g. 52.52,13.40", EXIT_USAGE
        ) from None


def _due(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        due = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SubmitFailed(
            f"--due {text!r} is not an ISO 8601 time, e.g. 2026-12-01T17:00:00Z", EXIT_USAGE
        ) from None
    if due.tzinfo is None:
        raise SubmitFailed(f"--due {text!r} has no time zone; add Z for UTC", EXIT_USAGE)
    return due.astimezone(UTC)


def _read_mesh(path: Path) -> tuple[bytes, MeshFormat]:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise SubmitFailed(
            f"{path}: unknown mesh format {path.suffix!r}; use .stl, .3mf or .obj", EXIT_USAGE
        )
    try:
        return path.read_bytes(), fmt
    except OSError as exc:
        raise SubmitFailed(f"cannot read {path}: {exc.strerror}", EXIT_USAGE) from None


def build_submit(args: argparse.Namespace, mesh: bytes, fmt: MeshFormat) -> JobSubmit:
    client_ref = args.client_ref or f"cli-{uuid.uuid4().hex[:16]}"
    try:
        return JobSubmit(
            client_ref=client_ref,
            mesh_sha256=hashlib.sha256(mesh).hexdigest(),
            mesh_format=fmt,
            material=args.material,
            colour=args.colour,
            quantity=args.quantity,
            ship_to=_ship_to(args.ship_to),
            due=_due(args.due),
            priority=Priority(args.priority),
            quality=Quality(args.quality),
            notes=args.notes,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "job"
        raise SubmitFailed(f"{where}: {first['msg']}", EXIT_USAGE) from None


@dataclass
class Progress:
    """Prints each status once, as text or JSON lines."""

    as_json: bool
    last: tuple[Any, ...] | None = None

    def show(self, status: JobStatus) -> None:
        key = (status.state, status.parts, status.reason)
        if key == self.last:
            return
        self.last = key
        if self.as_json:
            print(encode(status).decode(), flush=True)
            return
        parts = status.parts
        total = parts.total or 1
        width = 30
        filled = round(width * parts.printed / total)
        bar = "#" * filled + "." * (width - filled)
        line = (
            f"job {status.job_id} {status.state.value:<9} [{bar}] "
            f"{parts.printed}/{parts.total} printed, {parts.printing} printing, "
            f"{parts.queued} queued"
        )
        if parts.failed:
            line += f", {parts.failed} failed (reprinting)"
        if status.reason:
            line += f" - {status.reason}"
        print(line, flush=True)


def follow(args: argparse.Namespace, submit: JobSubmit, mesh: bytes) -> int:
    """Upload, submit, and print the job's statuses until it is final (or accepted)."""
    shop = args.shop
    progress = Progress(args.json)
    with ShopLink(args.broker, shop) as link:
        link.publish(topics.mesh_topic(shop, submit.mesh_sha256), mesh)
        link.publish(topics.job_submit_topic(shop), encode(submit))
        if not args.json:
            print(
                f"submitted {submit.client_ref}: {submit.quantity} x {args.mesh.name} in "
                f"{submit.material} {submit.colour} (mesh {submit.mesh_sha256[:12]}, "
                f"{len(mesh)} bytes)",
                flush=True,
            )
        timeout: float | None = args.timeout
        while True:
            try:
                message = link.next_message(timeout)
            except queue.Empty:
                raise SubmitFailed(
                    f"no answer for job {submit.client_ref} within {args.timeout:g} s from "
                    f"the controller at {link.address_url}; is `makerfarm controller` "
                    "running against this broker?",
                    EXIT_TIMEOUT,
                ) from None
            result = _handle(message, submit, progress, args.no_wait)
            if result is not None:
                return result
            timeout = None  # the controller answered; a print may take hours


def _handle(
    message: JobStatus | Rejection, submit: JobSubmit, progress: Progress, no_wait: bool
) -> int | None:
    if message.client_ref != submit.client_ref:
        return None
    if isinstance(message, Rejection):
        print(f"rejected ({message.code.value}): {message.reason}", file=sys.stderr)
        return EXIT_REFUSED
    progress.show(message)
    if message.state in FINAL_JOB_STATES:
        return EXIT_DONE if message.state == JobState.DONE else EXIT_REFUSED
    if no_wait and message.state != JobState.RECEIVED:
        return EXIT_DONE
    return None


def run(args: argparse.Namespace) -> int:
    try:
        mesh, fmt = _read_mesh(args.mesh)
        submit = build_submit(args, mesh, fmt)
        return follow(args, submit, mesh)
    except SubmitFailed as exc:
        print(f"makerfarm submit: {exc}", file=sys.stderr)
        return exc.exit_code
    except ShopLinkError as exc:
        print(f"makerfarm submit: {exc}", file=sys.stderr)
        return EXIT_TIMEOUT
