"""The demo's farm: three makerspaces, nine printers, five shops and the jobs they submit.

Shared by `makerfarm demo`, the end-to-end test and the benchmark, so all three run the same
farm: three makerspaces around Berlin (well inside the scheduler's shipping radius), nine
printers of five profiles with PLA, PETG and ABS spools loaded, and five shops whose jobs
use the generated demo meshes (`controller.demo_meshes`) in those materials.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from controller.demo_meshes import BUILDERS
from controller.farm_file import FarmFile, PrinterEntry, SiteEntry

SITES = (
    SiteEntry(
        id="kreuzberg", name="Kreuzberg Makerspace", lat=52.4986, lon=13.4030, tz="Europe/Berlin"
    ),
    SiteEntry(id="wedding", name="Wedding FabLab", lat=52.5502, lon=13.3667, tz="Europe/Berlin"),
    SiteEntry(id="potsdam", name="Potsdam Werkstatt", lat=52.3906, lon=13.0645, tz="Europe/Berlin"),
)

# (printer id, site, profile, material, colour)
PRINTERS = (
    ("kb-p1s", "kreuzberg", "bambu-p1s", "ABS", "black"),
    ("kb-ender", "kreuzberg", "creality-ender3-v2", "PLA", "black"),
    ("kb-ratrig", "kreuzberg", "ratrig-vcore3-300", "PETG", "white"),
    ("wd-ender-1", "wedding", "creality-ender3-v2", "PLA", "white"),
    ("wd-ender-2", "wedding", "creality-ender3-v2", "PLA", "black"),
    ("wd-p1s", "wedding", "bambu-p1s", "PETG", "black"),
    ("pd-g220", "potsdam", "generic-220", "PETG", "white"),
    ("pd-ratrig", "potsdam", "ratrig-vcore3-300", "PLA", "white"),
    ("pd-kossel", "potsdam", "anycubic-kossel-linear-plus", "PLA", "black"),
)

SHOPS = ("acme-gifts", "keyring-co", "boxworks", "coaster-club", "clip-shop")
MATERIAL_COLOURS = (
    ("PLA", "black"),
    ("PLA", "white"),
    ("PETG", "white"),
    ("PETG", "black"),
    ("ABS", "black"),
)
SHIP_TO = ((52.52, 13.40), (52.48, 13.43), (52.40, 13.07), (52.54, 13.35), (52.45, 13.30))


def farm_file() -> FarmFile:
    return FarmFile(
        sites=list(SITES),
        printers=[
            PrinterEntry(id=pid, site=site, profile=profile, material=mat, colour=col)
            for pid, site, profile, mat, col in PRINTERS
        ],
    )


@dataclass(frozen=True)
class DemoJob:
    shop: str
    client_ref: str
    mesh: str  # a name in demo_meshes.BUILDERS
    material: str
    colour: str
    quantity: int
    ship_to: tuple[float, float]


def demo_jobs(count: int, seed: int = 7, max_quantity: int = 3) -> list[DemoJob]:
    """`count` varied jobs from the five shops (deterministic for a seed)."""
    rng = random.Random(seed)
    meshes = sorted(BUILDERS)
    jobs = []
    for n in range(count):
        shop = SHOPS[n % len(SHOPS)]
        material, colour = MATERIAL_COLOURS[n % len(MATERIAL_COLOURS)]
        jobs.append(
            DemoJob(
                shop=shop,
                client_ref=f"order-{n + 1:04d}",
                mesh=meshes[rng.randrange(len(meshes))],
                material=material,
                colour=colour,
                quantity=rng.randint(1, max_quantity),
                ship_to=SHIP_TO[rng.randrange(len(SHIP_TO))],
            )
        )
    return jobs


def agent_config(
    printer_id: str, broker_url: str, spool_root: Path, speed: float, state_interval_s: float = 0.5
) -> object:
    """An agent configuration for one demo printer with the simulated back-end."""
    # The demo is the farm's one composition root that runs agents in-process; the agent is
    # reached through importlib so the controller package itself never imports it.
    import importlib

    config = importlib.import_module("agent.config")
    for pid, site, profile, _material, _colour in PRINTERS:
        if pid == printer_id:
            return config.AgentConfig(
                site=site,
                printer=pid,
                profile=profile,
                spool_dir=spool_root / pid,
                state_interval_s=state_interval_s,
                progress_step_percent=25,
                broker=config.BrokerSettings(
                    url=broker_url, reconnect_min_s=0.2, reconnect_max_s=2.0
                ),
                backend=config.SimulatedBackendSettings(speed=speed, heat_rate_c_s=500.0),
            )
    raise KeyError(printer_id)
