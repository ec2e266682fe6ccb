"""The TUI against a real mosquitto, with the test playing the controller.

Summaries published by the "controller" show on screen; the alert count follows an
injected error; staff actions publish the right `StaffCommand`; the controller's answer
(accepted or refused with its reason) is shown; an unreachable broker is said clearly and
retried until it is back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from textual.widgets import Button, DataTable, Input, Static

from protocol import topics
from protocol.messages.fleet import Alert, AlertList, Severity
from protocol.messages.printer import PrinterStatus
from protocol.messages.staff import (
    StaffBedCleared,
    StaffCancelJob,
    StaffCancelPlate,
    StaffPause,
    StaffRequeue,
    StaffSpoolLoaded,
)
from tests.support.mosquitto import Broker, free_port, run_mosquitto
from tests.tui.controller_double import ControllerDouble, on_top, open_printer, until
from tests.tui.farm_data import (
    PRINTERS,
    agent_state,
    plates,
    printer_summary,
    queue,
    sites,
)
from tui.app import MakerfarmApp
from tui.broker import BrokerAddress
from tui.screens.dialogs import ConfirmDialog, SpoolDialog
from tui.screens.printer_detail import PrinterDetailScreen
from tui.screens.queue import QueueScreen

pytestmark = pytest.mark.broker
SIZE = (140, 36)


def run(test: Callable[[], Any]) -> None:
    asyncio.run(asyncio.wait_for(test(), 60))


def header(app: MakerfarmApp) -> str:
    """The header line of the screen on top ("" while that screen is still composing)."""
    found = app.screen.query("#header-line")
    return str(found.first(Static).content) if found else ""


def fleet_rows(app: MakerfarmApp) -> int:
    return app.screen.query_one("#fleet-table", DataTable).row_count


HEALTHY = {
    PrinterStatus.ERROR: PrinterStatus.PRINTING,
    PrinterStatus.NEEDS_OPERATOR: PrinterStatus.PRINTING,
    PrinterStatus.OFFLINE: PrinterStatus.IDLE,
}


async def publish_farm(controller: ControllerDouble) -> None:
    """The fixed farm with every printer healthy: no alert is due until a test injects one."""
    for row in PRINTERS:
        summary = printer_summary(*row)
        healthy = summary.model_copy(
            update={
                "updated_at": datetime.now(UTC),
                "error": "",
                "state": HEALTHY.get(summary.state, summary.state),
            }
        )
        await controller.publish(topics.fleet_printer_topic(row[0], row[1]), healthy)
    for plate_list in plates():
        await controller.publish(topics.fleet_plates_topic(plate_list.site_id), plate_list)
    for site in sites():
        await controller.publish(topics.fleet_site_topic(site.site_id), site)
    await controller.publish(
        topics.fleet_alerts_topic(), AlertList(alerts=(), updated_at=datetime.now(UTC))
    )


def app_for(broker: Broker, site: str | None = None) -> MakerfarmApp:
    return MakerfarmApp(broker=BrokerAddress(broker.host, broker.port), site=site, staff_user="ada")


def test_published_summaries_fill_the_fleet(mosquitto_factory: Callable[[], Broker]) -> None:
    broker = mosquitto_factory()

    async def scenario() -> None:
        async with ControllerDouble(broker.host, broker.port) as controller:
            await publish_farm(controller)
            app = app_for(broker)
            async with app.run_test(size=SIZE):
                await until(app, lambda: app.link_status.connected, "connected")
                await until(
                    app,
                    lambda: fleet_rows(app) == len(PRINTERS) + 2,
                    "every printer and two site lines",
                )
                assert "no alerts" in header(app)

    run(scenario)


def test_the_alert_count_follows_an_injected_error(mosquitto_factory: Callable[[], Broker]) -> None:
    broker = mosquitto_factory()

    async def scenario() -> None:
        async with ControllerDouble(broker.host, broker.port) as controller:
            await publish_farm(controller)
            app = app_for(broker)
            async with app.run_test(size=SIZE):
                await until(app, lambda: fleet_rows(app) == len(PRINTERS) + 2, "the fleet")
                # The agent reports an error; the controller raises the alert.
                await controller.publish(
                    topics.printer_state_topic("berlin", "mk4-01"),
                    agent_state(
                        PrinterStatus.ERROR,
                        1,
                        30,
                        25,
                        (0, 0),
                        error="heater fault",
                        at=datetime.now(UTC),
                    ),
                )
                alert = Alert(
                    alert_id="printer-mk4-01",
                    severity=Severity.CRITICAL,
                    message="printer mk4-01 reports an error: heater fault",
                    site_id="berlin",
                    printer_id="mk4-01",
                    raised_at=datetime.now(UTC),
                )
                await controller.publish(
                    topics.fleet_alerts_topic(),
                    AlertList(alerts=(alert,), updated_at=datetime.now(UTC)),
                )
                await until(app, lambda: "1 alert " in header(app), "one alert in the header")
                cell = app.screen.query_one("#fleet-table", DataTable).get_cell(
                    "berlin/mk4-01", "state"
                )
                assert "error" in str(cell)
                await app.run_action("switch_mode('queue')")
                await until(app, lambda: "1 alert " in header(app), "the alert on the queue")
                # The controller's list empties, but the printer still says error: it counts.
                await controller.publish(
                    topics.fleet_alerts_topic(), AlertList(alerts=(), updated_at=datetime.now(UTC))
                )
                await until(app, lambda: not app.store.alerts, "the controller's empty list")
                await until(app, lambda: "1 alert " in header(app), "the printer's own alert")
                # The printer is fixed: no alerts.
                await controller.publish(
                    topics.printer_state_topic("berlin", "mk4-01"),
                    agent_state(PrinterStatus.IDLE, 2, 25, 25, (0, 0), at=datetime.now(UTC)),
                )
                await until(app, lambda: "no alerts" in header(app), "no alerts")

    run(scenario)


def test_actions_publish_staff_commands_and_show_the_answer(
    mosquitto_factory: Callable[[], Broker],
) -> None:
    broker = mosquitto_factory()

    async def scenario() -> None:
        async with ControllerDouble(broker.host, broker.port) as controller:
            await publish_farm(controller)
            app = app_for(broker)
            async with app.run_test(size=SIZE) as pilot:
                await until(app, lambda: fleet_rows(app) == len(PRINTERS) + 2, "the fleet")
                await open_printer(app, "berlin", "mk4-01")
                assert isinstance(app.screen, PrinterDetailScreen)

                await pilot.press("p")
                site, command = await controller.next_command()
                assert (site, type(command)) == ("berlin", StaffPause)
                assert isinstance(command, StaffPause)
                assert (command.printer_id, command.staff_user) == ("mk4-01", "ada")
                await controller.reply(site, command, accepted=True)
                await until(app, lambda: "accepted" in actions_panel(app), "accepted")

                await pilot.press("c")  # destructive: asks first, with a reason
                await on_top(app, ConfirmDialog)
                app.screen.query_one("#reason", Input).value = "warped corner"
                await pilot.click("#yes")
                site, cancel = await controller.next_command()
                assert isinstance(cancel, StaffCancelPlate)
                assert (cancel.plate_id, cancel.reason) == ("plate-101", "warped corner")
                await controller.reply(
                    site, cancel, accepted=False, reason="plate plate-101 already finished"
                )
                await until(app, lambda: "refused" in actions_panel(app), "refused")
                assert "already finished" in actions_panel(app)

    run(scenario)


def test_saying_no_to_a_confirmation_sends_nothing(mosquitto_factory: Callable[[], Broker]) -> None:
    broker = mosquitto_factory()

    async def scenario() -> None:
        async with ControllerDouble(broker.host, broker.port) as controller:
            await publish_farm(controller)
            app = app_for(broker, site="berlin")
            async with app.run_test(size=SIZE) as pilot:
                await until(app, lambda: fleet_rows(app) == 6, "berlin's printers")
                await open_printer(app, "berlin", "mk4-03")
                await pilot.press("b")
                await on_top(app, ConfirmDialog)
                await pilot.click("#no")
                await on_top(app, PrinterDetailScreen)
                await pilot.press("l")  # spool loaded: the site summary's need is offered
                await on_top(app, SpoolDialog)
                assert app.screen.query_one("#material", Input).value == "PLA"
                app.screen.query_one("#material", Input).value = "PETG"
                app.screen.query_one("#colour", Input).value = "#FF8800"
                app.screen.query_one("#grams", Input).value = "750"
                await pilot.click("#ok")
                site, command = await controller.next_command()
                assert site == "berlin"
                assert isinstance(command, StaffSpoolLoaded)  # not the refused bed clear
                assert (command.printer_id, command.material, command.colour, command.grams) == (
                    "mk4-03",
                    "PETG",
                    "#ff8800",
                    750,
                )
                await on_top(app, PrinterDetailScreen)
                await pilot.press("b")
                await on_top(app, ConfirmDialog)
                assert str(app.screen.query_one("#yes", Button).label) == "Bed is clear"
                await pilot.click("#yes")
                _site, cleared = await controller.next_command()
                assert isinstance(cleared, StaffBedCleared)
                assert cleared.printer_id == "mk4-03"

    run(scenario)


def test_staff_cancel_a_job_and_requeue_failed_parts_from_the_queue(
    mosquitto_factory: Callable[[], Broker],
) -> None:
    broker = mosquitto_factory()

    async def scenario() -> None:
        async with ControllerDouble(broker.host, broker.port) as controller:
            await publish_farm(controller)
            await controller.publish(topics.fleet_queue_topic(), queue())
            app = app_for(broker)
            async with app.run_test(size=SIZE) as pilot:
                await until(app, lambda: app.store.queue is not None, "the queue")
                await pilot.press("2")
                await until(app, lambda: queue_rows(app) == 6, "six jobs")
                await pilot.press("c")  # the late job-8 is first
                await on_top(app, ConfirmDialog)
                await pilot.click("#yes")
                site, cancel = await controller.next_command()
                await on_top(app, QueueScreen)
                assert isinstance(cancel, StaffCancelJob)
                assert (site, cancel.job_id) == ("berlin", "job-8")
                await pilot.press(*["down"] * 5, "r")  # job-14: one failed part
                site, requeue = await controller.next_command()
                assert isinstance(requeue, StaffRequeue)
                assert (requeue.job_id, requeue.part_ids) == ("job-14", ())
                await controller.reply(
                    site, requeue, accepted=True, reason="1 part of job job-14 requeued"
                )
                await until(
                    app,
                    lambda: any(r.accepted for _p, r in app.pending.answered),
                    "the requeue accepted",
                )

    run(scenario)


def queue_rows(app: MakerfarmApp) -> int:
    found = app.screen.query("#table")
    return found.first(DataTable).row_count if found else 0


def actions_panel(app: MakerfarmApp) -> str:
    return str(app.screen.query_one("#actions-text", Static).content)


def test_an_unreachable_broker_is_said_and_retried_until_it_is_back(tmp_path: Any) -> None:
    from tests.conftest import require_mosquitto

    require_mosquitto()
    port = free_port()

    async def scenario() -> None:
        app = MakerfarmApp(broker=BrokerAddress("127.0.0.1", port), staff_user="ada")
        async with app.run_test(size=SIZE):
            await until(app, lambda: app.link_status.attempts >= 2, "two failed attempts")
            assert "cannot reach the broker at mqtt://127.0.0.1" in app.link_status.message
            assert "retrying" in str(app.screen.query_one("#alert-strip", Static).content)
            assert "no broker" in header(app)
            with run_mosquitto(tmp_path / "late-broker", port=port):
                await until(app, lambda: app.link_status.connected, "connected at last")
                assert "● broker" in header(app)

    run(scenario)
