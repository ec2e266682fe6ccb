"""Shared fixtures: real parts (a mosquitto broker, paths to the shared test data)."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support.mosquitto import Broker, mosquitto_binary, run_mosquitto

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
MODELS = SHARED / "models"
REFERENCE = SHARED / "reference"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_mosquitto() -> None:
    """Skip loudly when mosquitto is missing; in CI a missing broker fails the run."""
    if mosquitto_binary() is not None:
        return
    reason = (
        "mosquitto is not installed, so broker tests cannot run. "
        "Install it with: apt-get install -y mosquitto mosquitto-clients"
    )
    if _in_ci():
        pytest.fail("CI=true and " + reason, pytrace=False)
    pytest.skip("*** SKIPPED: " + reason + " ***")


def require_tool(name: str, install_hint: str) -> str:
    """The path of a command-line tool a test needs; skip loudly without it, fail in CI."""
    found = shutil.which(name)
    if found is not None:
        return found
    reason = f"{name} is not installed, so this test cannot run. Install it with: {install_hint}"
    if _in_ci():
        pytest.fail("CI=true and " + reason, pytrace=False)
    pytest.skip("*** SKIPPED: " + reason + " ***")


def require_shared() -> None:
    if not MODELS.is_dir():
        pytest.fail(f"the shared test data is missing: expected {MODELS}", pytrace=False)


@pytest.fixture(scope="session")
def shared_models() -> Path:
    require_shared()
    return MODELS


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    require_shared()
    return REFERENCE


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """One anonymous loopback mosquitto for the whole session."""
    require_mosquitto()
    with run_mosquitto(tmp_path_factory.mktemp("mosquitto")) as broker:
        yield broker


@pytest.fixture(scope="module")
def own_mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A broker for one module alone: no retained state left by other tests' printers
    reaches a controller whose behaviour or tables a test depends on."""
    require_mosquitto()
    with run_mosquitto(tmp_path_factory.mktemp("own-mosquitto")) as broker:
        yield broker


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[Callable[[list[str] | None], Broker]]:
    """Start brokers with a custom configuration (ACLs, passwords, TLS)."""
    require_mosquitto()
    started = itertools.count()

    with ExitStack() as stack:

        def start(extra_config: list[str] | None = None) -> Broker:
            workdir = tmp_path / f"mosquitto{next(started)}"
            return stack.enter_context(run_mosquitto(workdir, extra_config))

        yield start
