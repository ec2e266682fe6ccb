"""`makerfarm demo`: a whole farm on one machine, time sped up so a plate takes seconds.

An embedded broker (or `--broker`), the controller, three makerspaces with nine simulated
printers (the real agent with its simulated back-end, one thread each), simulated staff who
clear beds and load spools automatically (there is nobody at the demo's printers), and five
shops submitting varied jobs made of generated meshes. Progress lines show the jobs and the
printers. With `--until-done` it exits 0 once every demo job is done and prints a summary,
or 1 after `--time-limit` seconds, naming what is stuck.

When the staff TUI is installed (`makerfarm tui`) and the demo runs in a terminal without
`--headless`, the TUI opens on the demo's broker instead of the progress lines.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import shutil
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.config import BrokerAddress, ControllerSettings, Timing
from controller.demo_farm import PRINTERS, DemoJob, demo_jobs, farm_file
from controller.demo_meshes import demo_mesh
from controller.demo_staff import SimulatedStaff
from controller.job_tracker import JobTracker, submit_job
from controller.shop_link import ShopLink

DEFAULT_JOBS = 20
DEFAULT_SPEED = 2000.0
DEFAULT_TIME_LIMIT_S = 600.0
PROGRESS_EVERY_S = 2.0


@dataclass(frozen=True)
class DemoOptions:
    headless: bool
    until_done: bool
    jobs: int
    broker: BrokerAddress | None
    speed: float
    data_dir: Path | None
    time_limit_s: float
    seed: int


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--headless",
        action="store_true",
        help="print progress lines instead of opening the staff TUI",
    )
    parser.add_argument(
        "--until-done",
        action="store_true",
        help="exit once every demo job is done (non-zero after --time-limit)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=DEFAULT_JOBS,
        help=f"how many jobs the five shops submit (default {DEFAULT_JOBS})",
    )
    parser.add_argument(
        "--broker", metavar="URL", help="use this broker instead of the embedded one"
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=DEFAULT_SPEED,
        help=f"simulated printers run this many times faster than real ones "
        f"(default {DEFAULT_SPEED:g})",
    )
    parser.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="keep the demo's database, meshes and G-code here "
        "(default: a temporary directory, removed at the end)",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=DEFAULT_TIME_LIMIT_S,
        help="with --until-done: give up after this many seconds",
    )
    parser.add_argument("--seed", type=int, default=7, help="which varied jobs to submit")
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=["debug", "info", "warning", "error"],
        help="the controller's JSON log lines on stderr (default warning)",
    )


def run(args: argparse.Namespace) -> int:
    if args.jobs < 1 or args.speed <= 0:
        print("makerfarm demo: --jobs must be at least 1 and --speed positive", file=sys.stderr)
        return 2
    try:
        broker = BrokerAddress.parse(args.broker) if args.broker else None
    except ValueError as exc:
        print(f"makerfarm demo: {exc}", file=sys.stderr)
        return 2
    options = DemoOptions(
        headless=args.headless,
        until_done=args.until_done,
        jobs=args.jobs,
        broker=broker,
        speed=args.speed,
        data_dir=args.data,
        time_limit_s=args.time_limit,
        seed=args.seed,
    )
    from controller.logs import setup_logging

    setup_logging(args.log_level)
    if options.broker is None and args.log_level != "debug":
        # amqtt logs its own recoverable hiccups (a PUBACK it waited for, a connect race)
        # as errors; the demo's clients retry, so they are noise on the demo's screen.
        logging.getLogger("amqtt").setLevel(logging.CRITICAL)
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        # amqtt also hands clients retained messages of topics they did not subscribe to
        # (the agents log each one they ignore).
        logging.getLogger("agent.agent").setLevel(logging.ERROR)
    try:
        return asyncio.run(run_demo(options))
    except KeyboardInterrupt:
        print("demo stopped", flush=True)
        return 130


async def run_demo(options: DemoOptions) -> int:
    temporary = options.data_dir is None
    data = options.data_dir or Path(tempfile.mkdtemp(prefix="makerfarm-demo-"))
    try:
        return await _run_in(data, options)
    finally:
        if temporary:
            shutil.rmtree(data, ignore_errors=True)


async def _run_in(data: Path, options: DemoOptions) -> int:
    from controller.service import ControllerService

    farm_path = data / "farm.toml"
    data.mkdir(parents=True, exist_ok=True)
    farm_path.write_text(farm_toml())
    settings = ControllerSettings(
        broker=options.broker,
        data_dir=data / "controller",
        farm_file=farm_path,
        timing=Timing(
            replan_min_interval_s=1.0,
            replan_debounce_s=0.3,
            fleet_publish_interval_s=0.5,
            offline_grace_s=30.0,
        ),
    )
    service = ControllerService(settings)
    stop = asyncio.Event()
    runner = asyncio.create_task(service.run(stop))
    try:
        await _wait_ready(service, runner)
        address = service.broker_address
        where = "embedded broker, loopback only" if options.broker is None else "your broker"
        print(
            f"demo: broker {address.url} ({where}); controller data in {settings.data_dir}",
            flush=True,
        )
        print(
            "demo: staff are simulated: beds are cleared and spools loaded automatically",
            flush=True,
        )
        # The demo's own clients block while they connect: they start off the event loop,
        # which serves the embedded broker.
        stack = ExitStack()
        try:
            printers = await asyncio.to_thread(
                stack.enter_context, DemoPrinters(address, data / "agents", options.speed)
            )
            staff = await asyncio.to_thread(stack.enter_context, SimulatedStaff(address))
            tracker = await asyncio.to_thread(stack.enter_context, JobTracker(address.url))
            jobs = demo_jobs(options.jobs, seed=options.seed)
            await asyncio.to_thread(_submit_all, address.url, jobs)
            print(
                f"demo: {len(jobs)} jobs submitted by {len({j.shop for j in jobs})} shops "
                f"({sum(j.quantity for j in jobs)} parts); {len(PRINTERS)} printers at "
                f"3 makerspaces, speed x{options.speed:g}",
                flush=True,
            )
            if not options.headless and _tui_available() and sys.stdout.isatty():
                return await _run_tui(address, data / "demo.log")
            return await _follow(jobs, tracker, staff, printers, options)
        finally:
            await asyncio.to_thread(stack.close)
    finally:
        stop.set()
        await runner


async def _wait_ready(service: object, runner: asyncio.Task[None]) -> None:
    ready = asyncio.create_task(service.ready.wait())  # type: ignore[attr-defined]
    await asyncio.wait({ready, runner}, return_when=asyncio.FIRST_COMPLETED)
    if runner.done():
        ready.cancel()
        runner.result()  # raises the start-up error
        raise RuntimeError("the controller stopped during start-up")


def farm_toml() -> str:
    """The demo farm as a farm file (see controller.farm_file)."""
    farm = farm_file()
    lines = []
    for site in farm.sites:
        lines += [
            "[[sites]]",
            f'id = "{site.id}"',
            f'name = "{site.name}"',
            f"lat = {site.lat}",
            f"lon = {site.lon}",
            f'tz = "{site.tz}"',
            "",
        ]
    for printer in farm.printers:
        lines += [
            "[[printers]]",
            f'id = "{printer.id}"',
            f'site = "{printer.site}"',
            f'profile = "{printer.profile}"',
            f'material = "{printer.material}"',
            f'colour = "{printer.colour}"',
            "",
        ]
    return "\n".join(lines)


def _submit_all(broker_url: str, jobs: list[DemoJob]) -> None:
    with ShopLink(broker_url, None) as link:
        for job in jobs:
            submit_job(link, job, demo_mesh(job.mesh).stl)


class DemoPrinters:
    """The nine simulated printers: the real agent, in-process, one thread each."""

    def __init__(
        self,
        broker: BrokerAddress,
        spool_root: Path,
        speed: float,
        faults: dict[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        from controller.demo_farm import agent_config

        agent_module = importlib.import_module("agent.agent")
        config_module = importlib.import_module("agent.config")
        self.agents = {}
        for printer_id, *_rest in PRINTERS:
            config = agent_config(printer_id, broker_url(broker), spool_root, speed)
            if faults and printer_id in faults:
                backend = config.backend.model_copy(  # type: ignore[attr-defined]
                    update={
                        "faults": [
                            config_module.FaultSettings.model_validate(f)
                            for f in faults[printer_id]
                        ]
                    }
                )
                config = config.model_copy(update={"backend": backend})  # type: ignore[attr-defined]
            self.agents[printer_id] = agent_module.Agent(config)

    def __enter__(self) -> DemoPrinters:
        for agent in self.agents.values():
            agent.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for agent in self.agents.values():
            agent.stop()

    def journal_entries(self) -> dict[str, list[Any]]:
        return {pid: agent.journal.entries() for pid, agent in self.agents.items()}


def broker_url(address: BrokerAddress) -> str:
    """The URL with the password, for the demo's own clients."""
    scheme = "mqtts" if address.tls else "mqtt"
    user = ""
    if address.username:
        user = address.username + (f":{address.password}" if address.password else "") + "@"
    return f"{scheme}://{user}{address.host}:{address.port}"


async def _follow(
    jobs: list[DemoJob],
    tracker: JobTracker,
    staff: SimulatedStaff,
    printers: DemoPrinters,
    options: DemoOptions,
) -> int:
    refs = [job.client_ref for job in jobs]
    started = time.monotonic()
    while True:
        elapsed = time.monotonic() - started
        print(_progress_line(elapsed, refs, tracker, staff), flush=True)
        if options.until_done and tracker.all_final(refs):
            break
        if options.until_done and elapsed > options.time_limit_s:
            print(f"demo: not done after {options.time_limit_s:g} s; stuck:", flush=True)
            for line in tracker.stuck(refs):
                print("  " + line, flush=True)
            return 1
        await asyncio.sleep(PROGRESS_EVERY_S)
    return _summary(jobs, tracker, staff, printers, time.monotonic() - started)


def _progress_line(
    elapsed: float, refs: list[str], tracker: JobTracker, staff: SimulatedStaff
) -> str:
    states = Counter(tracker.state_of(ref) for ref in refs)
    parts = tracker.part_totals(refs)
    printer_states = Counter(staff.printer_states().values())
    jobs = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
    fleet = ", ".join(f"{n} {state}" for state, n in sorted(printer_states.items()))
    return (
        f"[{elapsed:6.1f}s] jobs: {jobs} | parts printed {parts['printed']}/"
        f"{parts['total']} | printers: {fleet} | beds cleared "
        f"{sum(len(v) for v in staff.cleared_at.values())}"
    )


def _summary(
    jobs: list[DemoJob],
    tracker: JobTracker,
    staff: SimulatedStaff,
    printers: DemoPrinters,
    seconds: float,
) -> int:
    refs = [job.client_ref for job in jobs]
    states = Counter(tracker.state_of(ref) for ref in refs)
    plates = sum(
        1
        for entries in printers.journal_entries().values()
        for e in entries
        if getattr(e, "outcome", "") == "finished"
    )
    parts = tracker.part_totals(refs)
    print(
        f"demo: done in {seconds:.1f} s: {states.get('done', 0)}/{len(jobs)} jobs done, "
        f"{parts['printed']} parts printed on {plates} plates, "
        f"{sum(len(v) for v in staff.cleared_at.values())} beds cleared, "
        f"{staff.spools_loaded} spools loaded",
        flush=True,
    )
    return 0 if states.get("done", 0) == len(jobs) else 1


def _tui_available() -> bool:
    import makerfarm_cli

    return "tui" in makerfarm_cli.COMMANDS


async def _run_tui(address: BrokerAddress, log_path: Path) -> int:
    """The staff TUI on the demo's broker; the demo's own log lines go to a file meanwhile,
    so they do not draw over the TUI."""
    from controller.logs import setup_logging

    root = logging.getLogger()
    with open(log_path, "a", encoding="utf-8") as log_file:
        setup_logging(logging.getLevelName(root.level).lower(), stream=log_file)
        print(f"demo: opening the staff TUI (quit it to end the demo; log: {log_path})", flush=True)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "makerfarm_cli",
            "tui",
            "--broker",
            broker_url(address),
            "--user",
            "demo-visitor",
        )
        code = await process.wait()
        setup_logging(logging.getLevelName(root.level).lower())
    return code
