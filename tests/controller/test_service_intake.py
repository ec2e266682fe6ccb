"""Intake against a real mosquitto: meshes, submits, rejections, resubmits and cancels."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller.config import BrokerAddress, ControllerSettings, Timing
from controller.demo_farm import farm_file
from controller.demo_meshes import demo_mesh
from controller.shop_link import ShopLink
from protocol import topics
from protocol.codec import encode
from protocol.errors import RejectionCode
from protocol.messages.jobs import JobCancel, JobStatus, JobSubmit, MeshFormat, Rejection, ShipTo
from protocol.states import JobState
from tests.e2e.harness import ControllerThread
from tests.support.mosquitto import Broker

WAIT_S = 60.0


@pytest.fixture(scope="module")
def controller(
    mosquitto: Broker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ControllerThread]:
    data = tmp_path_factory.mktemp("intake")
    farm = data / "farm.toml"
    farm.write_text(_farm_toml())
    settings = ControllerSettings(
        broker=BrokerAddress(host=mosquitto.host, port=mosquitto.port),
        data_dir=data,
        farm_file=farm,
        client_id=f"intake-{uuid.uuid4().hex[:6]}",
        workers=1,
        timing=Timing(mesh_wait_s=1.0, replan_min_interval_s=3600),
    )
    with ControllerThread(settings) as running:
        yield running


def _farm_toml() -> str:
    farm = farm_file()
    lines = []
    for site in farm.sites:
        lines += ["[[sites]]", f'id = "{site.id}"', f"lat = {site.lat}", f"lon = {site.lon}"]
    for printer in farm.printers:
        lines += [
            "[[printers]]",
            f'id = "{printer.id}"',
            f'site = "{printer.site}"',
            f'profile = "{printer.profile}"',
            f'material = "{printer.material}"',
            f'colour = "{printer.colour}"',
        ]
    return "\n".join(lines) + "\n"


def _submit(mesh: bytes, **overrides: object) -> JobSubmit:
    fields: dict[str, object] = {
        "client_ref": f"ref-{uuid.uuid4().hex[:10]}",
        "mesh_sha256": hashlib.sha256(mesh).hexdigest(),
        "mesh_format": MeshFormat.STL,
        "material": "PLA",
        "colour": "black",
        "quantity": 4,
        "ship_to": ShipTo(lat=52.52, lon=13.40),
    }
    fields.update(overrides)
    return JobSubmit.model_validate(fields)


def _answer(
    link: ShopLink, client_ref: str, until: set[JobState] | None = None
) -> JobStatus | Rejection:
    while True:
        message = link.next_message(WAIT_S)
        if message.client_ref != client_ref:
            continue
        if isinstance(message, Rejection) or until is None or message.state in until:
            return message


def test_a_submitted_job_is_accepted_with_one_part_per_unit(
    mosquitto: Broker, controller: ControllerThread
) -> None:
    mesh = demo_mesh("cube").stl
    submit = _submit(mesh, quantity=4)
    with ShopLink(mosquitto.url, "acme-gifts") as shop:
        shop.publish(topics.mesh_topic("acme-gifts", submit.mesh_sha256), mesh)
        shop.publish(topics.job_submit_topic("acme-gifts"), encode(submit))
        status = _answer(shop, submit.client_ref, {JobState.ACCEPTED, JobState.REJECTED})
    assert isinstance(status, JobStatus)
    assert status.state == JobState.ACCEPTED, status.reason
    assert status.parts.total == 4
    assert (controller.settings.meshes_dir / submit.mesh_sha256).read_bytes() == mesh


def test_a_resubmit_with_the_same_client_ref_is_the_same_job(
    mosquitto: Broker, controller: ControllerThread
) -> None:
    mesh = demo_mesh("keychain_tag").stl
    submit = _submit(mesh, quantity=2)
    with ShopLink(mosquitto.url, "keyring-co") as shop:
        shop.publish(topics.mesh_topic("keyring-co", submit.mesh_sha256), mesh)
        shop.publish(topics.job_submit_topic("keyring-co"), encode(submit))
        first = _answer(shop, submit.client_ref, {JobState.ACCEPTED})
        shop.publish(topics.job_submit_topic("keyring-co"), encode(submit))
        second = _answer(shop, submit.client_ref)
    assert isinstance(first, JobStatus) and isinstance(second, JobStatus)
    assert second.job_id == first.job_id
    assert second.parts.total == 2


def test_a_mesh_whose_bytes_do_not_match_its_topic_is_refused(
    mosquitto: Broker, controller: ControllerThread
) -> None:
    mesh = demo_mesh("cube").stl
    wrong = "0" * 64
    with ShopLink(mosquitto.url, "boxworks") as shop:
        shop.publish(topics.mesh_topic("boxworks", wrong), mesh)
        message = shop.next_message(WAIT_S)
    assert isinstance(message, Rejection)
    assert message.code == RejectionCode.MESH_HASH_MISMATCH
    assert wrong in message.reason
    assert not (controller.settings.meshes_dir / wrong).exists()


def test_a_malformed_submit_is_rejected_on_the_errors_topic_naming_the_field(
    mosquitto: Broker, controller: ControllerThread
) -> None:
    body = json.loads(encode(_submit(b"x", client_ref="bad-qty")))
    body["quantity"] = 0
    with ShopLink(mosquitto.url, "clip-shop") as shop:
        shop.publish(topics.job_submit_topic("clip-shop"), json.dumps(body).encode())
        message = _answer(shop, "bad-qty")
    assert isinstance(message, Rejection)
    assert message.client_ref == "bad-qty"
    assert "quantity" in message.reason


def test_a_material_no_printer_runs_is_rejected_with_what_the_farm_runs(
    mosquitto: Broker, controller: ControllerThread
) -> None:
    mesh = demo_mesh("cube").stl
    submit = _submit(mesh, material="PA-CF")
    with ShopLink(mosquitto.url, "acme-gifts") as shop:
        shop.publish(topics.mesh_topic("acme-gifts", submit.mesh_sha256), mesh)
        shop.publish(topics.job_submit_topic("acme-gifts"), encode(submit))
        status = _answer(shop, submit.client_ref, {JobState.ACCEPTED, JobState.REJECTED})
    assert isinstance(status, JobStatus)
    assert status.state == JobState.REJECTED
    assert status.code == RejectionCode.MATERIAL_UNAVAILABLE
    assert "PA-CF" in status.reason and "PLA" in status.reason


def test_a_part_larger_than_every_bed_is_rejected_with_its_size(
    mosquitto: Broker, controller: ControllerThread, tmp_path: Path
) -> None:
    import trimesh

    mesh = trimesh.creation.box(extents=(500.0, 20.0, 10.0)).export(file_type="stl")
    submit = _submit(mesh)
    with ShopLink(mosquitto.url, "boxworks") as shop:
        shop.publish(topics.mesh_topic("boxworks", submit.mesh_sha256), mesh)
        shop.publish(topics.job_submit_topic("boxworks"), encode(submit))
        status = _answer(shop, submit.client_ref, {JobState.ACCEPTED, JobState.REJECTED})
    assert isinstance(status, JobStatus)
    assert (status.state, status.code) == (JobState.REJECTED, RejectionCode.DOES_NOT_FIT)
    assert "500.0 x 20.0" in status.reason


def test_a_submit_whose_mesh_never_arrives_is_rejected_saying_so(
    mosquitto: Broker, controller: ControllerThread
) -> None:
    submit = _submit(b"never uploaded")
    with ShopLink(mosquitto.url, "coaster-club") as shop:
        shop.publish(topics.job_submit_topic("coaster-club"), encode(submit))
        status = _answer(shop, submit.client_ref, {JobState.ACCEPTED, JobState.REJECTED})
    assert isinstance(status, JobStatus)
    assert (status.state, status.code) == (JobState.REJECTED, RejectionCode.MESH_MISSING)
    assert "has not been uploaded" in status.reason


def test_a_shop_can_cancel_its_job_and_not_another_shops(
    mosquitto: Broker, controller: ControllerThread
) -> None:
    mesh = demo_mesh("small_box").stl
    submit = _submit(mesh, quantity=1)
    cancel = encode(JobCancel(reason="customer changed their mind"))
    with ShopLink(mosquitto.url, "boxworks") as shop:
        shop.publish(topics.mesh_topic("boxworks", submit.mesh_sha256), mesh)
        shop.publish(topics.job_submit_topic("boxworks"), encode(submit))
        accepted = _answer(shop, submit.client_ref, {JobState.ACCEPTED})
        with ShopLink(mosquitto.url, "clip-shop") as other:
            other.publish(
                topics.job_cancel_topic(
                    "clip-shop", accepted.job_id if isinstance(accepted, JobStatus) else ""
                ),
                cancel,
            )
            refused = other.next_message(WAIT_S)
        shop.publish(
            topics.job_cancel_topic(
                "boxworks", accepted.job_id if isinstance(accepted, JobStatus) else ""
            ),
            cancel,
        )
        cancelled = _answer(shop, submit.client_ref, {JobState.CANCELLED})
    assert isinstance(refused, Rejection) and refused.code == RejectionCode.UNKNOWN_JOB
    assert isinstance(cancelled, JobStatus)
    assert cancelled.parts.cancelled == 1
    assert cancelled.updated_at <= datetime.now(UTC)
