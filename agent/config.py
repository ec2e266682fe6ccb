"""The agent's configuration: one TOML file, read once at start, typed.

Every key is documented in `EXAMPLE_CONFIG` (printed by `makerfarm agent
--print-example-config`) and in the README. Errors name the key that is wrong,
so a person editing the file on a Pi knows what to fix.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from protocol.fields import Id, ProfileId


class ConfigError(Exception):
    """The configuration cannot be used; the message says which key and why."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class BrokerAddress(_Section):
    """Where the broker is, parsed from `mqtt[s]://user:pass@host:port`."""

    tls: bool
    host: str
    port: int
    username: str | None
    password: str | None


def parse_broker_url(url: str) -> BrokerAddress:
    """Split a broker URL; ValueError with what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ValueError(f"broker URL {url!r} must start with mqtt:// or mqtts://")
    if not parts.hostname:
        raise ValueError(f"broker URL {url!r} has no host")
    try:
        port = parts.port
    except ValueError as error:
        raise ValueError(f"broker URL {url!r} has a bad port") from error
    tls = parts.scheme == "mqtts"
    return BrokerAddress(
        tls=tls,
        host=parts.hostname,
        port=port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class BrokerSettings(_Section):
    url: str = "mqtt://localhost:1883"
    username: str | None = None  # overrides the URL's user
    password: str | None = None  # overrides the URL's password
    password_file: Path | None = None  # read the password from this file instead
    client_id: str | None = Field(default=None, min_length=1, max_length=128)
    ca_file: Path | None = None  # CA bundle for mqtts://; the system's when unset
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    reconnect_min_s: float = Field(default=1.0, gt=0, le=60)
    reconnect_max_s: float = Field(default=30.0, gt=0, le=3600)

    @field_validator("url")
    @classmethod
    def _url_parses(cls, url: str) -> str:
        parse_broker_url(url)
        return url

    def address(self) -> BrokerAddress:
        return parse_broker_url(self.url)

    def credentials(self) -> tuple[str | None, str | None]:
        """(username, password) with the explicit keys and password_file winning."""
        address = self.address()
        password = self.password or address.password
        if self.password_file is not None:
            try:
                password = self.password_file.read_text(encoding="utf-8").strip()
            except OSError as error:
                raise ConfigError(
                    f"broker.password_file: cannot read {self.password_file}: {error.strerror}"
                ) from error
        return (self.username or address.username, password)


FaultKind = Literal["plate_failure", "part_failure", "thermal_error", "disconnect"]


class FaultSettings(_Section):
    """A fault the simulated printer injects into the plates it runs."""

    kind: FaultKind
    # When it strikes, as a fraction of the print.
    at_progress: float = Field(default=0.5, ge=0.0, le=1.0)
    # part_failure: the object label that fails (default: the first one still printing).
    object: str | None = None
    probability: float = Field(default=1.0, ge=0.0, le=1.0)  # chance per plate
    plates: int | None = Field(default=None, ge=1)  # plates it strikes; None: every plate
    disconnect_s: float = Field(default=5.0, gt=0, le=3600)  # how long the USB link is gone


class SimulatedBackendSettings(_Section):
    kind: Literal["simulated"] = "simulated"
    # Print and heating times are the real ones divided by this.
    speed: float = Field(default=1.0, gt=0, le=100_000)
    ambient_c: float = Field(default=22.0, ge=-20, le=60)
    heat_rate_c_s: float = Field(default=3.0, gt=0, le=1000)
    seed: int = 0  # random source for faults with probability < 1
    faults: list[FaultSettings] = Field(default_factory=list)


class MarlinBackendSettings(_Section):
    """A Marlin-family printer on USB serial; the protocol figures come from the profile."""

    kind: Literal["marlin"]
    port: str = Field(min_length=1)  # /dev/serial/by-id/usb-... (stable across reboots)
    baudrate: int | None = Field(default=None, ge=9600, le=4_000_000)  # the profile's if unset
    connect_timeout_s: float = Field(default=30.0, gt=0, le=600)
    reconnect_s: float = Field(default=5.0, gt=0, le=600)
    temperature_interval_s: float = Field(default=2.0, gt=0, le=60)
    answer_timeout_s: float | None = Field(default=None, gt=0, le=600)  # the profile's if unset
    in_flight: int | None = Field(default=None, ge=1, le=32)  # the profile's if unset


class MoonrakerBackendSettings(_Section):
    """A Klipper printer behind Moonraker."""

    kind: Literal["moonraker"]
    url: str = Field(min_length=1)  # http://voron.local:7125
    api_key: str | None = None
    api_key_file: Path | None = None  # read the API key from this file instead
    upload_dir: str = Field(default="makerfarm", pattern=r"^[A-Za-z0-9_.-]+$")
    reconnect_s: float = Field(default=5.0, gt=0, le=600)
    timeout_s: float = Field(default=10.0, gt=0, le=600)

    def key(self) -> str | None:
        """The API key, from api_key_file when it is set."""
        if self.api_key_file is None:
            return self.api_key
        try:
            return self.api_key_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ConfigError(
                f"backend.api_key_file: cannot read {self.api_key_file}: {error.strerror}"
            ) from error


BackendSettings = Annotated[
    SimulatedBackendSettings | MarlinBackendSettings | MoonrakerBackendSettings,
    Field(discriminator="kind"),
]


class AgentConfig(_Section):
    site: Id
    printer: Id
    profile: ProfileId
    spool_dir: Path = Path("/var/lib/makerfarm/spool")
    state_interval_s: float = Field(default=1.0, gt=0, le=3600)
    telemetry_interval_s: float = Field(default=5.0, gt=0, le=3600)
    progress_step_percent: int = Field(default=5, ge=1, le=100)
    # A plate's G-code may not decompress to more than this.
    max_plate_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    broker: BrokerSettings = BrokerSettings()
    backend: BackendSettings = Field(default_factory=lambda: SimulatedBackendSettings())

    @field_validator("backend", mode="before")
    @classmethod
    def _simulated_by_default(cls, value: object) -> object:
        if isinstance(value, dict) and "kind" not in value:
            return {**value, "kind": "simulated"}
        return value

    def client_id(self) -> str:
        """A stable client id, so the broker keeps this agent's session across restarts."""
        return self.broker.client_id or f"makerfarm-agent-{self.site}-{self.printer}"


_BACKEND_KINDS = ("simulated", "marlin", "moonraker")


def _describe(error: ValidationError, source: str) -> str:
    lines = [f"{source}: the configuration has {error.error_count()} problem(s):"]
    for item in error.errors():
        loc = list(item["loc"])
        if loc[:1] == ["backend"] and len(loc) > 1 and loc[1] in _BACKEND_KINDS:
            del loc[1]  # the union's tag: backend.marlin.port is written backend.port
        key = ".".join(str(part) for part in loc) or "(top level)"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; --print-example-config lists every key)"
        elif item["type"] == "missing":
            message = "required key is missing"
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)


def parse_config(text: str, source: str = "agent.toml") -> AgentConfig:
    """Parse TOML text into an AgentConfig; ConfigError names every bad key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML: {error}") from error
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_describe(error, source)) from error


def load_config(path: Path) -> AgentConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read the configuration {path}: {error.strerror}") from error
    return parse_config(text, str(path))


EXAMPLE_CONFIG = """\
# makerfarm agent configuration: one file per printer.

site = "fablab-north"       # the makerspace this printer stands in (as provisioned)
printer = "prusa-01"        # this printer's id at the site (as provisioned)
profile = "generic-220"     # printer profile id (`makerfarm profiles` lists them)
spool_dir = "/var/lib/makerfarm/spool"  # plates, the event outbox and the print journal
state_interval_s = 1.0      # retained state is published this often and on every change
telemetry_interval_s = 5.0  # temperatures at QoS 0
progress_step_percent = 5   # a progress event every N percent of a plate
max_plate_bytes = 536870912 # a plate's G-code may not decompress to more than this
log_level = "info"          # debug, info, warning or error

[broker]
url = "mqtts://broker.example.org:8883"  # mqtt[s]://[user:pass@]host[:port]
username = "agent-fablab-north-prusa-01" # overrides the user in the URL
password_file = "/etc/makerfarm/agent.password"  # keeps the secret out of this file
# password = "..."          # or the password itself (overrides the URL's)
# client_id = "..."         # default makerfarm-agent-{site}-{printer}; keep it stable
# ca_file = "/etc/ssl/certs/ca-certificates.crt"  # CA for mqtts://; default: the system's
keepalive_s = 30
reconnect_min_s = 1.0       # reconnect backoff doubles from this ...
reconnect_max_s = 30.0      # ... up to this

[backend]
kind = "simulated"          # simulated, marlin (USB serial) or moonraker (Klipper)
speed = 1.0                 # print time = the program's estimate / speed
ambient_c = 22.0
heat_rate_c_s = 3.0
seed = 0

# Faults the simulated printer injects (for demos and drills); remove for none.
# kind: plate_failure | part_failure | thermal_error | disconnect
# [[backend.faults]]
# kind = "part_failure"
# at_progress = 0.4         # when, as a fraction of the print
# object = "part-3"         # part_failure: which object (default: the first)
# probability = 0.1         # chance per plate
# plates = 1                # how many plates it strikes; leave out for every plate

# A Marlin-family printer on USB serial (replace the [backend] above with this):
# [backend]
# kind = "marlin"
# port = "/dev/serial/by-id/usb-Prusa_Research__prusa3d.com__Original_Prusa_i3_MK3_CZPX-if00"
# baudrate = 115200         # default: the profile's
# temperature_interval_s = 2.0
# answer_timeout_s = 10.0   # default: the profile's; busy: keep-alives hold it off

# A Klipper printer behind Moonraker:
# [backend]
# kind = "moonraker"
# url = "http://voron.local:7125"
# api_key_file = "/etc/makerfarm/moonraker.key"  # when Moonraker requires a key
# upload_dir = "makerfarm"  # under Moonraker's gcodes root
"""
