"""Where the broker is: `--broker mqtt://user:password@host:port` parsed into its parts.

Accepted forms: `mqtt://host[:port]`, `mqtts://host[:port]` (TLS, port 8883 by default),
an optional `user[:password]@` before the host, and the short `host[:port]`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

DEFAULT_BROKER = "mqtt://localhost:1883"
_DEFAULT_PORTS = {"mqtt": 1883, "tcp": 1883, "mqtts": 8883, "ssl": 8883}


class BrokerUrlError(ValueError):
    """A broker address that cannot be used, with what to write instead."""


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False

    def __str__(self) -> str:
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def parse_broker_url(url: str) -> BrokerAddress:
    text = url.strip()
    if "://" not in text:
        text = "mqtt://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise BrokerUrlError(
            f"broker URL {url!r} has the scheme {parts.scheme!r}; "
            "use mqtt://host:port or mqtts://host:port"
        )
    if not parts.hostname:
        raise BrokerUrlError(f"broker URL {url!r} names no host; e.g. mqtt://localhost:1883")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        raise BrokerUrlError(
            f"broker URL {url!r} has a port that is not a number from 1 to 65535"
        ) from None
    return BrokerAddress(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=scheme in ("mqtts", "ssl"),
    )
