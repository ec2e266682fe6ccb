"""The controller's settings: typed, with defaults that work, read once at start.

`ControllerSettings` is built by the `makerfarm controller` command (or the demo, or a test)
and passed down explicitly; no module reads the environment on its own. `BrokerAddress`
parses the `mqtt[s]://user:pass@host:port` URLs every command accepts.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_DATA_DIR = Path("makerfarm-data")
MQTT_PORT = 1883
MQTTS_PORT = 8883
# An MQTT v5 share name: one topic level, no wildcards (`$share/{name}/{filter}`).
SHARED_GROUP = re.compile(r"[A-Za-z0-9_-]{1,64}")


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
    # Several controllers on one PostgreSQL database: the inbound filters are subscribed as
    # `$share/{shared_group}/...` (MQTT v5) and one controller at a time leads
    # (controller.leadership). None: this controller is the farm's only one.
    shared_group: str | None = None
    timing: Timing = Timing()
    limits: Limits = Limits()

    @model_validator(mode="after")
    def _check_shared_group(self) -> ControllerSettings:
        if self.shared_group is None:
            return self
        if not SHARED_GROUP.fullmatch(self.shared_group):
            raise ValueError(
                f"shared group {self.shared_group!r} is not a valid MQTT share name; use "
                "1 to 64 letters, digits, '-' or '_' (e.g. --shared-group controllers)"
            )
        if not self.database_url.startswith(("postgresql:", "postgres:", "postgresql+")):
            raise ValueError(
                "--shared-group runs several controllers on one database, and SQLite cannot "
                "be shared between machines or lock rows for them; give the controllers one "
                "PostgreSQL database with --db postgresql://user@host:5432/makerfarm"
            )
        if self.broker is None:
            raise ValueError(
                "--shared-group needs the farm's broker (--broker mqtt://host:1883): the "
                "embedded broker listens on loopback only and is not shared with other "
                "controllers"
            )
        return self

    @property
    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.data_dir / 'makerfarm.db').resolve()}"

    @property
    def mqtt_client_id(self) -> str:
        """The client id on the broker: with a shared group every controller needs its own,
        so the host name and process id are added to the default."""
        if self.shared_group is None or self.client_id != "makerfarm-controller":
            return self.client_id
        return f"{self.client_id}-{socket.gethostname()[:30]}-{os.getpid()}"[:64]

    @property
    def meshes_dir(self) -> Path:
        return self.data_dir / "meshes"

    @property
    def gcode_dir(self) -> Path:
        return self.data_dir / "gcode"
