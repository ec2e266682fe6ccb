"""Staff at the keyboard of the TUI, with the real controller and a simulated printer.

One makerspace printer (kb-ender, the real agent with its simulated back-end) and the real
controller on the demo farm, over a real mosquitto. First an error is injected on another
printer's state topic: the alert count in the header follows it up and down again. Then the
other demo printers are taken out of service from the TUI so every plate goes to kb-ender,
a shop orders two parts in a colour no printer has loaded, and staff, through the TUI only:

1. load the spool the sites summary asks for: the waiting plate is dispatched;
2. pause the plate, cancel one of its parts, resume: the part is skipped and requeued;
3. see the plate finish and the requeued part's plate wait, then clear the bed: the next
   plate starts.
"""

from __future__ import annotations

import asyncio
import importlib
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from textual.widgets import Input, SelectionList, Static

from controller.config import BrokerAddress as ControllerBroker
from controller.config import ControllerSettings, Timing
from controller.demo import farm_toml
from controller.demo_farm import PRINTERS, DemoJob, agent_config
from controller.demo_meshes import demo_mesh
from controller.job_tracker import submit_job
from controller.shop_link import ShopLink
from protocol import topics
from protocol.codec import encode
from protocol.messages.printer import EventKind, PrinterStatus
from protocol.messages.staff import StaffMaintenanceOn
from protocol.states import PlateState
from tests.e2e.harness import ControllerThread
from tests.support.mosquitto import Broker
from tests.tui.controller_double import open_printer, until
from tests.tui.farm_data import agent_state
from tui.app import MakerfarmApp
from tui.broker import BrokerAddress
from tui.screens.dialogs import ConfirmDialog, PartPicker, SpoolDialog
from tui.staff_actions import new_command
from tui.store import PrinterView

pytestmark = pytest.mark.broker
SITE, PRINTER = "kreuzberg", "kb-ender"
SPEED = 300.0  # a plate of two keychain tags takes several seconds: time to pause it
WAIT_S = 40.0
JOB = DemoJob(
    shop="keyring-co",
    client_ref="tui-order-1",
    mesh="keychain_tag",
    material="PLA",
    colour="red",
    quantity=2,
    ship_to=(52.4986, 13.4030),
)


@pytest.fixture
def farm(mosquitto_factory: Callable[[], Broker], tmp_path: Path) -> Iterator[Broker]:
    """A broker with the controller (demo farm) and kb-ender's agent running on it."""
    broker = mosquitto_factory()
    farm_path = tmp_path / "farm.toml"
    farm_path.write_text(farm_toml())
    settings = ControllerSettings(
        broker=ControllerBroker(host=broker.host, port=broker.port),
        data_dir=tmp_path / "data",
        farm_file=farm_path,
        client_id=f"tui-{uuid.uuid4().hex[:6]}",
        workers=1,
        timing=Timing(
            fleet_publish_interval_s=0.2, replan_min_interval_s=0.5, replan_debounce_s=0.1
        ),
    )
    agent_module = importlib.import_module("agent.agent")
    config = agent_config(PRINTER, broker.url, tmp_path / "agents", SPEED)
    with ControllerThread(settings):
        agent = agent_module.Agent(config)
        agent.start()
        try:
            yield broker
        finally:
            agent.stop()


def test_staff_load_a_spool_cancel_a_part_and_clear_the_bed(farm: Broker) -> None:
    async def scenario() -> None:
        app = MakerfarmApp(broker=BrokerAddress(farm.host, farm.port), site=SITE, staff_user="ada")
        async with app.run_test(size=(140, 36)) as pilot:
            await until(
                app, lambda: printer(app).state is PrinterStatus.IDLE, "kb-ender idle", WAIT_S
            )
            await the_alert_count_follows_an_injected_error(app, farm)
            await out_of_service_but_kb_ender(app)
            await asyncio.to_thread(submit, farm)
            first_plate = await load_the_spool_asked_for(app, pilot)
            await cancel_a_part_while_paused(app, pilot, first_plate)
            await clear_the_bed_and_see_the_next_plate_start(app, pilot, first_plate)

    asyncio.run(asyncio.wait_for(scenario(), 150))


def printer(app: MakerfarmApp) -> PrinterView:
    view = app.store.printers.get((SITE, PRINTER))
    return view or PrinterView(site_id=SITE, printer_id=PRINTER, name=PRINTER)


async def the_alert_count_follows_an_injected_error(app: MakerfarmApp, broker: Broker) -> None:
    def header() -> str:
        found = app.screen.query("#header-line")
        return str(found.first(Static).content) if found else ""

    await until(app, lambda: "no alerts" in header(), "no alerts at first", WAIT_S)
    topic = topics.printer_state_topic(SITE, "kb-p1s")
    async with aiomqtt.Client(broker.host, broker.port) as agent:
        error = agent_state(
            PrinterStatus.ERROR,
            1,
            30.0,
            25.0,
            (0.0, 0.0),
            material=None,
            colour=None,
            at=datetime.now(UTC),
            error="thermistor disconnected",
        )
        await agent.publish(topic, encode(error), qos=1)
        await until(app, lambda: "1 alert " in header(), "one alert in the header", WAIT_S)
        await until(
            app,
            lambda: any(a.printer_id == "kb-p1s" for a in app.store.alerts),
            "the alert itself, naming the printer",
            WAIT_S,
        )
        idle = agent_state(
            PrinterStatus.IDLE,
            2,
            25.0,
            25.0,
            (0.0, 0.0),
            material=None,
            colour=None,
            at=datetime.now(UTC),
        )
        await agent.publish(topic, encode(idle), qos=1)
        await until(app, lambda: "no alerts" in header(), "the alert cleared", WAIT_S)


def submit(broker: Broker) -> None:
    with ShopLink(broker.url, None) as link:
        submit_job(link, JOB, demo_mesh(JOB.mesh).stl)


async def out_of_service_but_kb_ender(app: MakerfarmApp) -> None:
    others = [(site, pid) for pid, site, *_ in PRINTERS if pid != PRINTER]
    for site, pid in others:
        app.send_command(
            site,
            new_command(
                StaffMaintenanceOn, app.staff_user, printer_id=pid, reason="kept out of this test"
            ),
            f"Maintenance on {pid}",
            pid,
        )
    await until(
        app, lambda: len(app.pending.answered) == len(others), "maintenance answers", WAIT_S
    )
    assert all(reply.accepted for _pending, reply in app.pending.answered)


async def load_the_spool_asked_for(app: MakerfarmApp, pilot: Any) -> str:
    def asked() -> bool:
        site = app.store.sites.get(SITE)
        return site is not None and any(
            (need.printer_id, need.material, need.colour) == (PRINTER, "PLA", "red")
            for need in site.materials_needed_next
        )

    await until(app, asked, "the site asking for PLA red on kb-ender", WAIT_S)
    assert printer(app).state is PrinterStatus.IDLE  # the plate waits for the spool
    await open_printer(app, SITE, PRINTER)
    await pilot.press("l")
    await until(app, lambda: isinstance(app.screen, SpoolDialog), "the spool dialog")
    assert app.screen.query_one("#material", Input).value == "PLA"
    assert app.screen.query_one("#colour", Input).value == "red"
    await pilot.click("#ok")
    await until(
        app,
        lambda: (
            printer(app).state in (PrinterStatus.HEATING, PrinterStatus.PRINTING)
            and printer(app).plate_id is not None
        ),
        "the waiting plate dispatched",
        WAIT_S,
    )
    plate_id = printer(app).plate_id
    assert plate_id is not None
    return plate_id


async def cancel_a_part_while_paused(app: MakerfarmApp, pilot: Any, plate_id: str) -> None:
    await pilot.press("p")
    await until(app, lambda: printer(app).state is PrinterStatus.PAUSED, "paused", WAIT_S)
    await until(app, lambda: app.store.plate(plate_id) is not None, "the plate's parts", WAIT_S)
    await pilot.press("x")
    await until(app, lambda: isinstance(app.screen, PartPicker), "the part picker")
    parts = app.screen.query_one("#parts", SelectionList)
    part_id = str(parts.get_option_at_index(0).value)
    parts.select(part_id)
    await pilot.press("ctrl+s")
    await until(app, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation")
    await pilot.click("#yes")
    await until(
        app,
        lambda: any(
            e.kind is EventKind.PART_CANCELLED and part_id in e.part_ids
            for e in printer(app).events
        ),
        "the part cancelled",
        WAIT_S,
    )
    await pilot.press("r")
    await until(app, lambda: printer(app).state is not PrinterStatus.PAUSED, "resumed", WAIT_S)


async def clear_the_bed_and_see_the_next_plate_start(
    app: MakerfarmApp, pilot: Any, first_plate: str
) -> None:
    def next_plate_waits() -> bool:
        waiting = [
            p
            for p in app.store.plates_at(SITE)
            if p.printer_id == PRINTER
            and p.plate_id != first_plate
            and p.state in (PlateState.SLICED, PlateState.PLANNED)
        ]
        return printer(app).state is PrinterStatus.AWAITING_BED_CLEAR and bool(waiting)

    await until(app, next_plate_waits, "plate done and the requeued part's plate waiting", WAIT_S)
    await pilot.press("b")
    await until(app, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation")
    await pilot.click("#yes")
    await until(
        app,
        lambda: (
            printer(app).plate_id not in (None, first_plate)
            and printer(app).state
            in (PrinterStatus.HEATING, PrinterStatus.PRINTING, PrinterStatus.AWAITING_BED_CLEAR)
        ),
        "the next plate started",
        WAIT_S,
    )
    answered = [
        (p.description, r.accepted) for p, r in app.pending.answered if p.subject == PRINTER
    ]
    assert answered == [
        ("Spool loaded on kb-ender", True),
        ("Pause on kb-ender", True),
        ("Cancel one part on kb-ender", True),
        ("Resume on kb-ender", True),
        ("Bed cleared on kb-ender", True),
    ]
