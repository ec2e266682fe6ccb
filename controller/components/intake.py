"""Intake: shops' mesh uploads, job submits and cancels.

Meshes (`shops/{shop}/meshes/{sha256}`) are checked against their size limit and the sha256
their topic names, then stored once under `data/meshes/<sha256>`. A `JobSubmit` is decoded,
waits (bounded) for its mesh, and is validated in a worker process: the mesh loads (closed
or repairable) and fits at least one printer of the farm that runs the material. Then, in one
transaction, the job and its parts are accepted (or the job rejected with the reason) and the
status goes out on the job's retained topic. The same `client_ref` is the same job. Anything
malformed is answered on the shop's `errors` topic; nothing a shop sends stops the service.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from datetime import UTC, datetime

from sqlmodel import Session

from controller.blob_store import BlobStore
from controller.component import Component
from controller.components import Farm
from controller.db.tables import Job
from controller.eligibility import Eligibility, FleetPrinter, fleet_profiles, judge
from controller.lifecycle.jobs import (
    PartEstimate,
    accept_job,
    cancel_job,
    find_job,
    reject_job,
)
from controller.lifecycle.meshes import MeshFacts as StoredMesh
from controller.lifecycle.meshes import record_mesh
from controller.lifecycle.transitions import Changes, LifecycleError
from controller.logs import log
from controller.mqtt_link import Inbound
from controller.process_pool import WorkerCrashed
from controller.security.limits import (
    RateLimiter,
    ShopQuotas,
    check_due,
    check_mesh_upload,
    check_open_jobs,
    check_payload_size,
)
from controller.security.quotas import shop_admission
from controller.workers import MeshFacts, MeshProblem, analyse_mesh
from protocol import topics
from protocol.blobs import check_blob
from protocol.codec import decode
from protocol.errors import ProtocolError, RejectionCode
from protocol.messages.jobs import JobCancel, JobSubmit, Rejection

_logger = logging.getLogger(__name__)
CONCURRENCY = 32
FLEET_CACHE_S = 5.0
FACTS_CACHE_SIZE = 4096
CLIENT_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/#-]{0,127}")


class Intake(Component):
    name = "intake"

    def __init__(self, farm: Farm) -> None:
        super().__init__()
        self._farm = farm
        self._meshes = BlobStore(farm.settings.meshes_dir)
        self._queue: asyncio.Queue[Inbound] = asyncio.Queue()
        self._arrived: dict[str, asyncio.Event] = {}
        self._fleet_cache: tuple[float, list[FleetPrinter]] | None = None
        self._facts: dict[tuple[str, str, str, float, tuple[str, ...]], MeshFacts] = {}
        self._rates = RateLimiter()
        self._quotas: dict[str, ShopQuotas] = {}  # as last read, for the rate check
        link = farm.link
        link.route(topics.topic_filter(topics.TopicKind.MESH), self._on_mesh)
        link.route(topics.topic_filter(topics.TopicKind.JOB_SUBMIT), self._enqueue)
        link.route(topics.topic_filter(topics.TopicKind.JOB_CANCEL), self._enqueue)

    async def start(self) -> None:
        for n in range(CONCURRENCY):
            self.spawn(self._worker, f"worker-{n}", restart=True)

    async def _enqueue(self, message: Inbound) -> None:
        await self._queue.put(message)

    async def _worker(self) -> None:
        while True:
            message = await self._queue.get()
            try:
                await self._handle(message)
            finally:
                message.ack()

    async def _handle(self, message: Inbound) -> None:
        parsed = topics.parse_topic(message.topic)
        assert parsed.shop is not None
        try:
            # Limits first, before the payload is parsed (controller.security.limits).
            check_payload_size(parsed.kind, message.payload)
            quotas = await self._quota_of(parsed.shop)
            self._rates.check(parsed.shop, quotas.submits_per_minute)
            if parsed.kind == topics.TopicKind.JOB_SUBMIT:
                await self._submit(parsed.shop, message)
            elif parsed.kind == topics.TopicKind.JOB_CANCEL:
                assert parsed.job is not None
                await self._cancel(parsed.shop, parsed.job, message)
        except ProtocolError as exc:
            self._refuse(parsed.shop, message, exc, _client_ref_of(message.payload))
        except Exception:
            # A bug or an unavailable part of the farm: the shop hears it, the service lives.
            _logger.exception(
                "could not process a shop's message",
                extra={"makerfarm_fields": {"topic": message.topic}},
            )
            error = ProtocolError(
                "the controller could not process this message; send it "
                "again later (the farm's operator has the details in the "
                "controller's log)",
                RejectionCode.INTERNAL_ERROR,
            )
            self._refuse(parsed.shop, message, error, _client_ref_of(message.payload))

    async def _quota_of(self, shop: str) -> ShopQuotas:
        """The shop's quotas as last read (each submit reads them again)."""
        quotas = self._quotas.get(shop)
        if quotas is None:
            if len(self._quotas) > 100_000:  # ids from an open broker: keep the map bounded
                self._quotas.clear()
            _, read = await self._farm.store.run(
                shop_admission, shop, self._farm.settings.limits.max_open_jobs_per_shop
            )
            self._quotas[shop] = quotas = read
        return quotas

    # --- meshes ---------------------------------------------------------------------------

    async def _on_mesh(self, message: Inbound) -> None:
        try:
            parsed = topics.parse_topic(message.topic)
            assert parsed.shop is not None and parsed.sha256 is not None
            check_blob(
                message.payload, parsed.sha256, self._farm.settings.limits.max_mesh_bytes, "mesh"
            )
            check_mesh_upload(message.payload)
        except ProtocolError as exc:
            shop = _shop_of(message.topic)
            if shop is not None:
                self._refuse(shop, message, exc)
            message.ack()
            return
        await asyncio.to_thread(self._meshes.put, message.payload, parsed.sha256)
        message.ack()
        self._arrival(parsed.sha256).set()
        log(
            _logger,
            logging.INFO,
            "mesh stored",
            shop=parsed.shop,
            sha256=parsed.sha256,
            bytes=len(message.payload),
        )

    def _arrival(self, sha256: str) -> asyncio.Event:
        return self._arrived.setdefault(sha256, asyncio.Event())

    async def _wait_for_mesh(self, sha256: str) -> bool:
        if self._meshes.has(sha256):
            return True
        event = self._arrival(sha256)
        try:
            async with asyncio.timeout(self._farm.settings.timing.mesh_wait_s):
                await event.wait()
        except TimeoutError:
            return self._meshes.has(sha256)
        return True

    # --- submits --------------------------------------------------------------------------

    async def _submit(self, shop: str, message: Inbound) -> None:
        submit = decode(message.payload, JobSubmit)
        existing = await self._farm.store.run(_accepted_job_id, shop, submit.client_ref)
        if existing is not None:
            await self._farm.publisher.publish_statuses([existing])
            return
        check_due(submit.due, datetime.now(UTC))
        open_jobs, self._quotas[shop] = await self._farm.store.run(
            shop_admission, shop, self._farm.settings.limits.max_open_jobs_per_shop
        )
        check_open_jobs(open_jobs, self._quotas[shop])
        verdict = await self._validate(shop, submit)
        if isinstance(verdict, Eligibility):
            estimate = PartEstimate(*verdict.estimate)
            facts = verdict.facts
            job_id = await self._farm.apply(
                _accept, shop, submit, facts, str(self._meshes.path(facts.sha256)), estimate
            )
            log(
                _logger,
                logging.INFO,
                "job accepted",
                shop=shop,
                job=job_id,
                client_ref=submit.client_ref,
                quantity=submit.quantity,
                material=submit.material,
                printers=len(verdict.printers),
            )
        else:
            code, reason = verdict
            job_id = await self._farm.apply(_reject, shop, submit, reason, code)
            log(
                _logger,
                logging.INFO,
                "job rejected",
                shop=shop,
                job=job_id,
                client_ref=submit.client_ref,
                code=str(code),
                reason=reason,
            )

    async def _validate(
        self, shop: str, submit: JobSubmit
    ) -> Eligibility | tuple[RejectionCode, str]:
        sha = submit.mesh_sha256
        if not await self._wait_for_mesh(sha):
            return RejectionCode.MESH_MISSING, (
                f"mesh {sha} has not been uploaded; publish the mesh file's bytes to "
                f"{topics.mesh_topic(shop, sha)} first, "
                "then submit again with the same client_ref"
            )
        printers = await self._fleet()
        if not printers:
            return RejectionCode.MATERIAL_UNAVAILABLE, (
                "the farm has no printers yet; try again once makerspaces are connected"
            )
        facts = await self._facts_for(submit, tuple(sorted({p.profile_id for p in printers})))
        if isinstance(facts, MeshProblem):
            return RejectionCode.MESH_INVALID, facts.reason
        return judge(facts, printers, submit.material)

    async def _fleet(self) -> list[FleetPrinter]:
        """The farm's printers, read at most once per FLEET_CACHE_S (they rarely change)."""
        now = time.monotonic()
        if self._fleet_cache is None or now - self._fleet_cache[0] > FLEET_CACHE_S:
            self._fleet_cache = (now, await self._farm.store.run(fleet_profiles))
        return self._fleet_cache[1]

    async def _facts_for(
        self, submit: JobSubmit, profiles: tuple[str, ...]
    ) -> MeshFacts | MeshProblem:
        key = (submit.mesh_sha256, submit.material, submit.quality.value, submit.scale, profiles)
        cached = self._facts.get(key)
        if cached is not None:
            return cached
        path = str(self._meshes.path(submit.mesh_sha256))
        try:
            facts = await self._farm.pool.run(
                analyse_mesh,
                path,
                submit.mesh_sha256,
                submit.mesh_format.value,
                profiles,
                submit.material,
                submit.quality.value,
                submit.scale,
            )
        except WorkerCrashed:
            return MeshProblem(
                "mesh_crashed",
                "checking the mesh crashed the mesh checker; "
                "re-export it from your CAD tool as a binary STL",
            )
        if isinstance(facts, MeshFacts):
            self._facts[key] = facts
            while len(self._facts) > FACTS_CACHE_SIZE:
                self._facts.pop(next(iter(self._facts)))
        return facts

    # --- cancels --------------------------------------------------------------------------

    async def _cancel(self, shop: str, job_id: str, message: Inbound) -> None:
        cancel = decode(message.payload, JobCancel)
        try:
            await self._farm.apply(_cancel, shop, job_id, cancel.reason)
        except LifecycleError as exc:
            error = ProtocolError(exc.reason, _code(exc.code))
            self._refuse(shop, message, error)
            return
        log(_logger, logging.INFO, "job cancelled by shop", shop=shop, job=job_id)

    def _refuse(
        self, shop: str, message: Inbound, error: ProtocolError, client_ref: str | None = None
    ) -> None:
        log(
            _logger,
            logging.INFO,
            "message refused",
            shop=shop,
            topic=message.topic,
            code=str(error.code),
            reason=error.reason,
        )
        rejection = Rejection.of(message.topic, error, datetime.now(UTC), client_ref)
        self._farm.publisher.rejection(shop, rejection)


# --- transactions (run in the store's thread) ------------------------------------------------


def _accepted_job_id(session: Session, shop: str, client_ref: str) -> str | None:
    job = find_job(session, shop, client_ref)
    if job is None or job.state in ("received", "rejected"):
        return None
    return job.id


def _accept(
    session: Session,
    shop: str,
    submit: JobSubmit,
    facts: MeshFacts,
    path: str,
    estimate: PartEstimate,
) -> tuple[str, Changes]:
    # The row describes the mesh as uploaded; a job's scale is applied where it is used.
    k = 1.0 / submit.scale
    record_mesh(
        session,
        StoredMesh(
            sha256=facts.sha256,
            format=facts.fmt,
            size_bytes=facts.size_bytes,
            stored_path=path,
            triangles=facts.triangles,
            size_mm=(facts.size_mm[0] * k, facts.size_mm[1] * k, facts.size_mm[2] * k),
            footprint=[(x * k, y * k) for x, y in facts.footprint],
            volume_mm3=facts.volume_mm3 * k**3,
        ),
        uploaded_by=shop,
    )
    outcome = accept_job(session, shop, submit, estimate=estimate)
    return outcome.job.id, outcome.changes


def _reject(
    session: Session, shop: str, submit: JobSubmit, reason: str, code: RejectionCode
) -> tuple[str, Changes]:
    outcome = reject_job(session, shop, submit, reason=reason, code=code)
    return outcome.job.id, outcome.changes


def _cancel(session: Session, shop: str, job_id: str, reason: str) -> tuple[None, Changes]:
    job = session.get(Job, job_id)
    if job is None or job.shop_id != shop:
        raise LifecycleError(f"shop {shop} has no job {job_id}", code=RejectionCode.UNKNOWN_JOB)
    return None, cancel_job(
        session, job_id, actor=f"shop:{shop}", reason=reason or "cancelled by the shop"
    )


def _code(value: str) -> RejectionCode:
    try:
        return RejectionCode(value)
    except ValueError:
        return RejectionCode.INVALID_MESSAGE


def _shop_of(topic: str) -> str | None:
    parts = topic.split("/")
    if len(parts) > 3 and parts[2] == "shops":
        try:
            return topics.parse_topic(topics.shop_errors_topic(parts[3])).shop
        except ProtocolError:
            return None
    return None


def _client_ref_of(payload: bytes) -> str | None:
    """The client_ref of a submit that failed validation, if it can be read safely."""
    if len(payload) > 64 * 1024:
        return None
    try:
        value = json.loads(payload).get("client_ref")
    except (ValueError, AttributeError, RecursionError):
        return None
    if isinstance(value, str) and CLIENT_REF.fullmatch(value):
        return value
    return None
