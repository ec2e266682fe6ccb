"""Benchmark: the staff TUI following 1,000 printers that each report once a second.

A real mosquitto (started here on a free port, or `--broker`), a publisher process playing
the agents and the controller (one retained `FleetPrinterSummary` per printer, site
summaries, then each printer's `PrinterState` once a second, spread over the second), and
the TUI itself running headless in this process on the fleet view. Measured over the
window after a warm-up:

- the TUI process's CPU use (all its threads, the MQTT client's included), in % of a core;
- the delay from a state message (its `at`, stamped when published) to the screen, for
  the printers whose rows are on screen: taken when the screen has been refreshed after
  their cells changed (rows scrolled out of view are updated when they come back).

Goal (issue 7): under 25 % of a core and under 1 s. Run from the repository root:

    .venv/bin/python bench/tui_bench.py [--printers 1000] [--seconds 20] [--rate 1]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from protocol import topics
from protocol.codec import encode
from protocol.messages.fleet import AlertList, FleetPrinterSummary, SiteSummary
from protocol.messages.printer import Heater, PrinterState, PrinterStatus

SITES = 10


class EventLike(Protocol):
    def set(self) -> None: ...
    def is_set(self) -> bool: ...


WARM_UP_S = 5.0


def printer_ids(count: int) -> list[tuple[str, str]]:
    return [(f"site-{n % SITES:02d}", f"printer-{n:04d}") for n in range(count)]


def publish(
    host: str, port: int, count: int, rate_hz: float, seconds: float, ready: EventLike
) -> None:
    """The agents and the controller: summaries once, then states at `rate_hz` each."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-publisher")
    client.max_queued_messages_set(0)
    client.connect(host, port)
    client.loop_start()
    now = datetime.now(UTC)
    ids = printer_ids(count)
    for site, printer in ids:
        summary = FleetPrinterSummary(
            site_id=site,
            printer_id=printer,
            name=printer,
            profile_id="prusa-mk4",
            state=PrinterStatus.PRINTING,
            material="PLA",
            colour="black",
            plate_id="plate-1",
            progress=0.0,
            seconds_left=3600,
            updated_at=now,
        )
        client.publish(topics.fleet_printer_topic(site, printer), encode(summary), 1, True)
    for n in range(SITES):
        site = f"site-{n:02d}"
        client.publish(
            topics.fleet_site_topic(site),
            encode(
                SiteSummary(
                    site_id=site,
                    name=f"Makerspace {n}",
                    timezone="Europe/Berlin",
                    printers=count // SITES,
                    printing=count // SITES,
                    updated_at=now,
                )
            ),
            1,
            True,
        )
    client.publish(topics.fleet_alerts_topic(), encode(AlertList(updated_at=now)), 1, True)
    ready.set()
    period = 1.0 / rate_hz
    started = time.monotonic()
    sequence = 0
    while time.monotonic() - started < seconds:
        sequence += 1
        round_start = time.monotonic()
        for index, (site, printer) in enumerate(ids):
            # Spread the round evenly over its period, as independent agents would.
            due = round_start + period * index / count
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            state = PrinterState(
                state=PrinterStatus.PRINTING,
                profile_id="prusa-mk4",
                material="PLA",
                colour="black",
                plate_id="plate-1",
                progress=min(1.0, sequence / 3600),
                seconds_left=max(0.0, 3600.0 - sequence),
                nozzle=Heater(current_c=214.0 + (sequence + index) % 3, target_c=215.0),
                bed=Heater(current_c=60.0, target_c=60.0),
                agent_version="bench",
                at=datetime.now(UTC),
                run_id="bench",
                connection=1,
                sequence=sequence,
            )
            client.publish(topics.printer_state_topic(site, printer), encode(state), 1, True)
    client.loop_stop()
    client.disconnect()


class DelayProbe:
    """Hooks into the app: the `at` of every state applied in a refresh tick, turned into a
    delay once the screen has been painted after that tick (on-screen rows only)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.delays_s: list[float] = []
        self.arrival_delays_s: list[float] = []
        self.recording = False
        self.received = 0
        self._applied: list[tuple[str, datetime]] = []
        app.on_refreshed = self.refreshed

    def applied(self, site: str, printer: str, at: datetime) -> None:
        self._applied.append((f"{site}/{printer}", at))
        if self.recording:
            self.arrival_delays_s.append((datetime.now(UTC) - at).total_seconds())

    def refreshed(self) -> None:
        from tui.screens.fleet import FleetScreen

        batch, self._applied = self._applied, []
        self.received += len(batch)
        fleet = self.app.screen
        if not self.recording or not batch or not isinstance(fleet, FleetScreen):
            return
        on_screen = fleet.table.visible_rows()
        shown = [at for key, at in batch if fleet.table.row_index(key) in on_screen]

        def painted() -> None:
            now = datetime.now(UTC)
            self.delays_s.extend((now - at).total_seconds() for at in shown)

        self.app.call_after_refresh(painted)


def timed_app(host: str, port: int) -> tuple[Any, DelayProbe]:
    """The TUI on the broker, with a probe told of every printer state it applies."""
    from tui.app import MakerfarmApp
    from tui.broker import BrokerAddress
    from tui.store import FleetStore

    probes: list[DelayProbe] = []

    class TimedStore(FleetStore):
        def apply_printer_state(self, site: str, printer: str, state: PrinterState) -> None:
            super().apply_printer_state(site, printer, state)
            probes[0].applied(site, printer, state.at)

    app = MakerfarmApp(broker=BrokerAddress(host, port), store=TimedStore(), staff_user="bench")
    probes.append(DelayProbe(app))
    return app, probes[0]


async def run_tui(
    host: str, port: int, count: int, seconds: float, rate_hz: float, ready: EventLike
) -> dict[str, float]:
    from tui.screens.fleet import FleetScreen

    app, probe = timed_app(host, port)
    async with app.run_test(headless=True, size=(160, 50)):
        while not ready.is_set() or len(app.store.printers) < count:
            await asyncio.sleep(0.1)  # the publisher's process signals through an Event
        await asyncio.sleep(WARM_UP_S)
        fleet = app.screen
        assert isinstance(fleet, FleetScreen)
        rebuilds_before, received_before = fleet.rebuilds, probe.received
        probe.recording = True
        cpu_start, wall_start = _cpu_seconds(), time.monotonic()
        await asyncio.sleep(seconds)
        cpu_used, wall = _cpu_seconds() - cpu_start, time.monotonic() - wall_start
        probe.recording = False
        received = probe.received - received_before
        rows, rebuilds = fleet.table.row_count, fleet.rebuilds - rebuilds_before
    delays = sorted(probe.delays_s)
    arrivals = sorted(probe.arrival_delays_s)
    return {
        "arrival_p50": statistics.median(arrivals) if arrivals else float("nan"),
        "arrival_p95": arrivals[int(0.95 * (len(arrivals) - 1))] if arrivals else float("nan"),
        "printers": count,
        "rows": rows,
        "rate": count * rate_hz,
        "received": received / wall,
        "updates": len(delays),
        "cpu": 100 * cpu_used / wall,
        "rebuilds": rebuilds,
        "p50": statistics.median(delays) if delays else float("nan"),
        "p95": delays[int(0.95 * (len(delays) - 1))] if delays else float("nan"),
        "max": delays[-1] if delays else float("nan"),
    }


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--printers", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0, help="measuring window")
    parser.add_argument("--rate", type=float, default=1.0, help="states per printer per second")
    parser.add_argument("--broker", help="host:port of a running broker (default: start one)")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the TUI here")
    args = parser.parse_args()
    from contextlib import ExitStack

    with ExitStack() as stack:
        if args.broker:
            host, _, port_text = args.broker.rpartition(":")
            host, port = host or "localhost", int(port_text)
        else:
            from tests.support.mosquitto import run_mosquitto

            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            broker = stack.enter_context(run_mosquitto(workdir))
            host, port = broker.host, broker.port
        context = multiprocessing.get_context("spawn")
        ready = context.Event()
        total_s = WARM_UP_S + args.seconds + 30
        publisher = context.Process(
            target=publish, args=(host, port, args.printers, args.rate, total_s, ready), daemon=True
        )
        publisher.start()
        try:
            run = run_tui(host, port, args.printers, args.seconds, args.rate, ready)
            if args.profile:
                import cProfile

                with cProfile.Profile() as profile:
                    result = asyncio.run(run)
                profile.dump_stats(args.profile)
            else:
                result = asyncio.run(run)
        finally:
            publisher.terminate()
            publisher.join(10)
    print_table(result, args.seconds)
    return 0


def print_table(result: dict[str, float], seconds: float) -> None:
    print(
        f"makerfarm TUI, fleet view, {result['printers']:.0f} printers, "
        f"{result['rate']:.0f} state messages/s, measured over {seconds:.0f} s"
    )
    print()
    rows = [
        ("table rows (printers + site lines)", f"{result['rows']:.0f}", ""),
        (
            "state messages taken in, per second",
            f"{result['received']:.0f}",
            f"{result['rate']:.0f}",
        ),
        ("state updates of on-screen rows timed", f"{result['updates']:.0f}", ""),
        ("full table rebuilds in the window", f"{result['rebuilds']:.0f}", "0"),
        ("TUI CPU, % of one core", f"{result['cpu']:.1f}", "< 25"),
        ("state -> taken in by the TUI p50 (s)", f"{result['arrival_p50']:.3f}", ""),
        ("state -> taken in by the TUI p95 (s)", f"{result['arrival_p95']:.3f}", ""),
        ("state -> screen delay p50 (s)", f"{result['p50']:.3f}", ""),
        ("state -> screen delay p95 (s)", f"{result['p95']:.3f}", "< 1"),
        ("state -> screen delay max (s)", f"{result['max']:.3f}", ""),
    ]
    width = max(len(name) for name, _, _ in rows)
    print(f"{'figure'.ljust(width)}  {'measured':>10}  {'goal':>6}")
    for name, value, goal in rows:
        print(f"{name.ljust(width)}  {value:>10}  {goal:>6}")


if __name__ == "__main__":
    sys.exit(main())
