"""Hostile input against a running controller: limits are refused with their reason and
nothing is written."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import Engine

from protocol import topics
from protocol.codec import decode, encode
from protocol.messages.jobs import Rejection
from protocol.messages.printer import PrinterState, PrinterStatus
from tests.security.hostile_farm import (
    FUZZ_SHOPS,
    QUOTA_SHOP,
    Observer,
    dump,
    hostile_farm,
    mqtt_client,
)
from tests.support.mosquitto import Broker


@pytest.fixture(scope="module")
def farm(
    own_mosquitto: Broker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, Observer, Engine, mqtt.Client]]:
    with hostile_farm(own_mosquitto, tmp_path_factory.mktemp("hostile")) as (running, obs, engine):
        client = mqtt_client(own_mosquitto, obs)
        yield running, obs, engine, client
        client.disconnect()
        client.loop_stop()


def publish(client: mqtt.Client, messages: list[tuple[str, bytes]]) -> None:
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(30)


def submit_json(**overrides: Any) -> dict[str, Any]:
    mesh = b"never uploaded: these submits are refused before the mesh is looked for"
    fields: dict[str, Any] = {
        "type": "job.submit",
        "schema": 1,
        "client_ref": "order-1",
        "mesh_sha256": hashlib.sha256(mesh).hexdigest(),
        "mesh_format": "stl",
        "material": "PLA",
        "colour": "black",
        "quantity": 2,
        "ship_to": {"lat": 52.5, "lon": 13.4},
    }
    fields.update(overrides)
    return fields


def rejection_for(
    farm: tuple[Any, Observer, Engine, mqtt.Client], shop: str, messages: list[tuple[str, bytes]]
) -> list[Rejection]:
    _, observer, _, client = farm
    before = observer.count("shop")
    publish(client, messages)
    observer.wait_for({"shop": before + len(messages)})
    with observer.changed:
        new = observer.rejections[before:]
    return [
        decode(payload, Rejection)
        for topic, payload in new
        if topic == topics.shop_errors_topic(shop)
    ]


def test_limits_are_refused_with_their_reason_and_nothing_is_written(
    farm: tuple[Any, Observer, Engine, mqtt.Client],
) -> None:
    engine = farm[2]
    before = dump(engine)
    now = datetime.now(UTC)
    shop = FUZZ_SHOPS[0]
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("3D/3dmodel.model", b"\0" * (20 * 1024 * 1024))
    stl = b"v 0 0 0\nv 1 0 0\nv 0 1 0" + b"\nf 1 2 3" * 2_100_000  # an OBJ, 17 MB
    cases = [
        (
            topics.job_submit_topic(shop),
            json.dumps(submit_json(due=(now - timedelta(days=2)).isoformat())).encode(),
        ),
        (
            topics.job_submit_topic(shop),
            json.dumps(submit_json(due=(now + timedelta(days=400)).isoformat())).encode(),
        ),
        (topics.mesh_topic(shop, hashlib.sha256(bomb.getvalue()).hexdigest()), bomb.getvalue()),
        (topics.mesh_topic(shop, hashlib.sha256(stl).hexdigest()), stl),
        (
            topics.job_submit_topic(shop),
            b'{"type": "job.submit", "notes": "' + b"x" * 70_000 + b'"}',
        ),
    ]
    rejections = rejection_for(farm, shop, cases)
    reasons = sorted(r.reason for r in rejections)
    assert len(rejections) == len(cases)
    assert any("in the past" in r for r in reasons)
    assert any("more than 366 days ahead" in r for r in reasons)
    assert any("zip bomb" in r for r in reasons)
    assert any("2,100,000 triangles" in r for r in reasons)
    assert any("the limit for this topic is" in r for r in reasons)
    assert dump(engine) == before
    stored = {path.name for path in farm[0].settings.meshes_dir.glob("*")}
    assert hashlib.sha256(stl).hexdigest() not in stored


def test_a_shop_over_its_rate_is_told_when_to_send_again(
    farm: tuple[Any, Observer, Engine, mqtt.Client],
) -> None:
    cancel = topics.job_cancel_topic(QUOTA_SHOP, "no-such-job")
    payload = b'{"type": "job.cancel", "schema": 1}'
    rejections = rejection_for(farm, QUOTA_SHOP, [(cancel, payload)] * 5)
    codes = [str(r.code) for r in rejections]
    assert codes.count("unknown_job") == 3  # the quota: 3 a minute
    assert codes.count("rate_limited") == 2
    assert any("send again in" in r.reason for r in rejections)


def test_a_printer_state_naming_an_unknown_profile_is_refused_and_changes_nothing(
    farm: tuple[Any, Observer, Engine, mqtt.Client],
) -> None:
    _, observer, engine, client = farm
    before = dump(engine)
    state = PrinterState(
        state=PrinterStatus.IDLE,
        profile_id="no-such-printer-model",
        at=datetime.now(UTC),
        run_id="r-1",
        connection=1,
        sequence=1,
        agent_version="0.1.0",
    )
    topic = topics.printer_state_topic("kreuzberg", "kb-intruder")
    with observer.changed:
        mark = len(observer.refusals)
    publish(client, [(topic, encode(state))])
    observer.wait_for({"refused": mark + 1})
    with observer.changed:
        refusals = observer.refusals[mark:]
    assert refusals and refusals[0][0] == topic
    assert "no-such-printer-model" in refusals[0][1]
    assert dump(engine) == before
