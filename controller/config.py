"""The controller's settings: typed, with defaults that work, read once at start.

`ControllerSettings` is built by the `makerfarm controller` command (or the demo, or a test)
and passed down explicitly; no module reads the environment on its own. `BrokerAddress`
parses the `mqtt[s]://user:pass@host:port` URLs every command accepts.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_DATA_DIR = Path("makerfarm-data")
MQTT_PORT = 1883
MQTTS_PORT = 8883


class BrokerAddress(BaseModel):
    """Where an MQTT broker listens and how to log in to it."""

    model_config = ConfigDict(frozen=True)

    host: str
    port: int = Field(default=MQTT_PORT, ge=1, le=65535)
    tls: bool = False
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """`mqtt://host`, `mqtts://user:pass@host:8883`, `host:port` or plain `host`.

        Raises ValueError with a message that names what is wrong."""
        text = url.strip()
        if "://" not in text:
            text = "mqtt://" + text
        parts = urlsplit(text)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(
                f"broker URL {url!r} has scheme {parts.scheme!r}; use mqtt://host:port "
                "or mqtts://host:port"
            )
        if not parts.hostname:
            raise ValueError(f"broker URL {url!r} names no host; e.g. mqtt://127.0.0.1:1883")
        tls = parts.scheme in ("mqtts", "ssl")
        try:
            port = parts.port or (MQTTS_PORT if tls else MQTT_PORT)
        except ValueError as exc:
            raise ValueError(f"broker URL {url!r} has an invalid port: {exc}") from None
        return cls(
            host=parts.hostname,
            port=port,
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    @property
    def url(self) -> str:
        """The URL without the password (safe to print and log)."""
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


class Timing(BaseModel):
    """How often the controller re-plans and publishes, and how long it waits for peers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    replan_min_interval_s: float = Field(default=2.0, ge=0.0, le=3600.0)
    replan_debounce_s: float = Field(default=0.2, ge=0.0, le=60.0)
    offline_grace_s: float = Field(default=120.0, ge=0.0, le=86_400.0)
    mesh_wait_s: float = Field(default=10.0, ge=0.0, le=600.0)
    fleet_publish_interval_s: float = Field(default=1.0, ge=0.05, le=600.0)
    dispatch_resend_s: float = Field(default=30.0, ge=1.0, le=3600.0)
    shutdown_timeout_s: float = Field(default=10.0, ge=0.1, le=600.0)


class Limits(BaseModel):
    """What the controller accepts from peers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_mesh_bytes: int = Field(default=50 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    max_open_jobs_per_shop: int = Field(default=10_000, ge=1, le=10_000_000)


class ControllerSettings(BaseModel):
    """Everything the controller service needs to run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # None: start the embedded broker on loopback.
    broker: BrokerAddress | None = None
    embedded_broker_port: int = Field(default=MQTT_PORT, ge=0, le=65535)
    data_dir: Path = DEFAULT_DATA_DIR
    # None: a SQLite file in the data directory.
    db_url: str | None = None
    # Sites and printers to provision at start (controller.farm_file).
    farm_file: Path | None = None
    client_id: str = Field(default="makerfarm-controller", min_length=1, max_length=64)
    workers: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1), ge=1, le=64)
    plan_seed: int = 0
    timing: Timing = Timing()
    limits: Limits = Limits()

    @property
    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.data_dir / 'makerfarm.db').resolve()}"

    @property
    def meshes_dir(self) -> Path:
        return self.data_dir / "meshes"

    @property
    def gcode_dir(self) -> Path:
        return self.data_dir / "gcode"
