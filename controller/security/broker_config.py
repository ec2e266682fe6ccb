"""Mosquitto's configuration for the farm, from the provisioned identities.

`write_broker_config` writes three files into one directory: `mosquitto.conf` (listeners,
no anonymous access, TLS when asked, a bridge to the central broker for a site broker),
`passwords` (Mosquitto's `$7$` hashes, straight from the database) and `acl` (see
`controller.security.acl`). The password and ACL files are readable by their owner only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from controller.config import BrokerAddress
from controller.db.identity_tables import Identity
from controller.security.acl import acl_file_text
from controller.security.identities import Role
from controller.security.passwords import check_hash
from protocol import topics
from protocol.blobs import MAX_GCODE_GZIP_BYTES, MAX_MESH_BYTES

# The largest blob plus room for the topic and MQTT headers; larger packets are dropped by
# the broker before any client sees them.
MAX_PACKET_BYTES = max(MAX_MESH_BYTES, MAX_GCODE_GZIP_BYTES) + 64 * 1024


class BrokerConfigError(ValueError):
    """The configuration cannot be written as asked; the text says what to change."""


@dataclass(frozen=True)
class Tls:
    ca_file: Path
    cert_file: Path
    key_file: Path
    port: int = 8883
    require_client_cert: bool = False


@dataclass(frozen=True)
class Bridge:
    site: str
    central: BrokerAddress
    ca_file: Path | None = None


@dataclass(frozen=True)
class BrokerOptions:
    port: int | None = 1883  # plaintext listener; None for TLS only
    bind: str = "0.0.0.0"
    tls: Tls | None = None
    bridge: Bridge | None = None
    persistence_dir: Path | None = None


def _listener_lines(options: BrokerOptions) -> list[str]:
    lines: list[str] = []
    if options.port is not None:
        lines += [
            "",
            "# plaintext MQTT: use it on a trusted network or loopback only",
            f"listener {options.port} {options.bind}",
        ]
    tls = options.tls
    if tls is not None:
        lines += [
            "",
            "# MQTT over TLS",
            f"listener {tls.port} {options.bind}",
            f"cafile {tls.ca_file.resolve()}",
            f"certfile {tls.cert_file.resolve()}",
            f"keyfile {tls.key_file.resolve()}",
            "tls_version tlsv1.2",
        ]
        if tls.require_client_cert:
            lines += [
                "# clients must also show a certificate signed by the CA",
                "require_certificate true",
            ]
    if not lines:
        raise BrokerConfigError("no listener: give --port, or --tls with its certificates")
    return lines


def _bridge_lines(bridge: Bridge) -> list[str]:
    central = bridge.central
    if not central.username or not central.password:
        raise BrokerConfigError(
            f"--central needs the bridge's login: mqtts://bridge.{bridge.site}:KEY@host:8883 "
            f"(make one with `makerfarm provision bridge add {bridge.site}`)"
        )
    lines = [
        "",
        f"# bridge: site {bridge.site}'s topics both ways, fleet summaries in",
        f"connection makerfarm-{bridge.site}",
        f"address {central.host}:{central.port}",
        f"remote_clientid makerfarm-bridge-{bridge.site}",
        f"remote_username {central.username}",
        f"remote_password {central.password}",
        "bridge_protocol_version mqttv311",
        "cleansession false",
        "try_private true",
        "restart_timeout 2 30",
        f"topic {topics.site_filter(bridge.site)} both 1",
        f"topic {topics.fleet_filter()} in 1",
    ]
    if central.tls:
        ca = bridge.ca_file.resolve() if bridge.ca_file else Path("/etc/ssl/certs")
        key = "bridge_cafile" if bridge.ca_file else "bridge_capath"
        lines += [f"{key} {ca}", "bridge_insecure false"]
    return lines


def mosquitto_conf_text(options: BrokerOptions, out_dir: Path, counts: dict[str, int]) -> str:
    out = out_dir.resolve()
    summary = ", ".join(f"{count} {role}" for role, count in sorted(counts.items())) or "none"
    lines = [
        f"# makerfarm broker configuration, written by `makerfarm broker-config` at "
        f"{datetime.now(UTC).isoformat(timespec='seconds')}",
        f"# identities: {summary}",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {out / 'passwords'}",
        f"acl_file {out / 'acl'}",
        f"max_packet_size {MAX_PACKET_BYTES}",
        # A controller acknowledges thousands of printer states a second: Mosquitto's default
        # of 20 unacknowledged messages in flight per client would cap it at 20 per round
        # trip, and its default queue of 1,000 would drop events while a controller restarts.
        "max_inflight_messages 1000",
        "max_queued_messages 100000",
    ]
    if options.persistence_dir is not None:
        lines += ["persistence true", f"persistence_location {options.persistence_dir.resolve()}/"]
    lines += _listener_lines(options)
    if options.bridge is not None:
        lines += _bridge_lines(options.bridge)
    return "\n".join(lines) + "\n"


def identities_for(all_identities: list[Identity], bridge: Bridge | None) -> list[Identity]:
    """A site broker knows only its own site's agents and staff; the central one all."""
    if bridge is None:
        return list(all_identities)
    local = {Role.AGENT.value, Role.STAFF.value}
    return [i for i in all_identities if i.role in local and i.site_id == bridge.site]


def _private(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


def write_broker_config(
    out_dir: Path, identities: list[Identity], options: BrokerOptions
) -> dict[str, Path]:
    """Write mosquitto.conf, passwords and acl into `out_dir`; returns their paths."""
    chosen = identities_for(identities, options.bridge)
    counts: dict[str, int] = {}
    for identity in chosen:
        counts[identity.role] = counts.get(identity.role, 0) + 1
    conf = mosquitto_conf_text(options, out_dir, counts)
    passwords = "".join(
        f"{i.username}:{check_hash(i.password_hash)}\n"
        for i in sorted(chosen, key=lambda i: i.username)
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / name for name in ("mosquitto.conf", "passwords", "acl")}
    _private(paths["passwords"], passwords)
    _private(paths["acl"], acl_file_text(chosen))
    # The conf holds the bridge's key when there is a bridge.
    _private(paths["mosquitto.conf"], conf)
    return paths
