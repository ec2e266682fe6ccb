"""Write the README's screenshots of every TUI screen to docs/ (SVG, as Textual draws them).

Uses the fixed farm of the snapshot tests. Run from the repository root:

    .venv/bin/python -m tests.tui.screenshots
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.tui.farm_data import NOW, farm_store
from tui.app import MakerfarmApp
from tui.mqtt_worker import LinkStatus

DOCS = Path(__file__).resolve().parents[2] / "docs"
SIZE = (140, 36)
# file name -> keys pressed before the shot
SHOTS: dict[str, tuple[str, ...]] = {
    "tui-fleet.svg": (),
    "tui-printer.svg": ("down", "enter"),
    "tui-confirm.svg": ("down", "enter", "c"),
    "tui-queue.svg": ("2",),
    "tui-plates.svg": ("3",),
    "tui-sites.svg": ("4",),
    "tui-alerts.svg": ("a",),
    "tui-help.svg": ("question_mark",),
}


async def shoot(name: str, keys: tuple[str, ...]) -> None:
    app = MakerfarmApp(store=farm_store(), clock=lambda: NOW, staff_user="ada")
    async with app.run_test(size=SIZE) as pilot:
        app.link_status = LinkStatus(True, "connected to mqtt://farm.example:1883")
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        app.save_screenshot(name, str(DOCS))


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    for name, keys in SHOTS.items():
        asyncio.run(shoot(name, keys))
        print(f"wrote {DOCS / name}")


if __name__ == "__main__":
    main()
