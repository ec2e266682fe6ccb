"""The dependency rules of design.md, checked on the source itself.

An arrow means "may import": controller -> scheduler, slicing, firmware_profiles, protocol;
agent -> firmware_profiles, protocol; tui -> protocol; scheduler -> protocol;
slicing -> firmware_profiles; protocol and firmware_profiles import nothing of ours.
Nothing imports controller, tui or agent.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PARTS = ("protocol", "firmware_profiles", "slicing", "scheduler", "controller", "agent", "tui")
ALLOWED: dict[str, set[str]] = {
    "protocol": set(),
    "firmware_profiles": set(),
    "slicing": {"firmware_profiles"},
    "scheduler": {"protocol"},
    "agent": {"firmware_profiles", "protocol"},
    "tui": {"protocol"},
    "controller": {"scheduler", "slicing", "firmware_profiles", "protocol"},
}
# Libraries a Raspberry Pi agent must never load.
HEAVY = (
    "numpy",
    "trimesh",
    "manifold3d",
    "sqlmodel",
    "sqlalchemy",
    "textual",
    "aiomqtt",
    "shapely",
    "pyclipper",
    "amqtt",
)


def _imported_parts(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(name.split(".")[0] for name in names if name.split(".")[0] in PARTS)
    return found


def test_each_part_imports_only_what_the_design_allows() -> None:
    broken: list[str] = []
    for part, allowed in ALLOWED.items():
        for path in sorted((REPO / part).rglob("*.py")):
            for imported in _imported_parts(path) - allowed - {part}:
                broken.append(f"{path.relative_to(REPO)} imports {imported}")
    assert broken == [], "imports against design.md's arrows:\n" + "\n".join(broken)


def test_agent_path_loads_no_server_library() -> None:
    modules = [
        p
        for p in ("agent.cli", "protocol", "firmware_profiles", "firmware_profiles.gcode")
        if (REPO / p.replace(".", "/")).with_suffix(".py").exists()
        or (REPO / p.replace(".", "/") / "__init__.py").exists()
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == "", f"the agent's import path loads: {out.stdout.strip()}"


def test_makerfarm_help_lists_commands_without_importing_parts() -> None:
    code = (
        "import sys, makerfarm_cli\n"
        "makerfarm_cli.main(['--help'])\n"
        f"print('LOADED', [p for p in {PARTS!r} if p in sys.modules])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "LOADED []" in out.stdout
    assert "schema" in out.stdout
