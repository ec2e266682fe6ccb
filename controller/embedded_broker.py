"""The in-process MQTT broker (amqtt) for a farm with nothing installed.

`makerfarm controller` and `makerfarm demo` start it when no `--broker` is given. It listens
on loopback only (127.0.0.1), anonymous, on the requested port or, when that one is taken,
on a free port chosen by the system; `address` says where it ended up. Production farms
run Mosquitto (or a cluster) and pass `--broker`.
"""

from __future__ import annotations

import errno
import logging
from types import TracebackType
from typing import Any

from amqtt.broker import Broker

from controller.config import BrokerAddress
from controller.logs import log

LOOPBACK = "127.0.0.1"
_logger = logging.getLogger(__name__)


def _config(port: int) -> dict[str, Any]:
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{LOOPBACK}:{port}"}},
        "timeout_disconnect_delay": 0,
        # Only anonymous access on loopback: no $SYS topics, no packet logging.
        "plugins": {
            "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
        },
    }


class EmbeddedBroker:
    """An amqtt broker bound to 127.0.0.1; an async context manager."""

    def __init__(self, port: int = 1883) -> None:
        self._wanted_port = port
        self._broker: Broker | None = None
        self._port: int | None = None

    @property
    def address(self) -> BrokerAddress:
        if self._port is None:
            raise RuntimeError("the embedded broker is not running")
        return BrokerAddress(host=LOOPBACK, port=self._port)

    async def start(self) -> BrokerAddress:
        try:
            await self._start_on(self._wanted_port)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or self._wanted_port == 0:
                raise
            log(
                _logger,
                logging.WARNING,
                "embedded broker port taken; using a free port",
                port=self._wanted_port,
            )
            await self._start_on(0)
        log(
            _logger, logging.INFO, "embedded broker listening (loopback only)", url=self.address.url
        )
        return self.address

    async def _start_on(self, port: int) -> None:
        broker = Broker(_config(port))
        amqtt_logger = logging.getLogger("amqtt.broker")
        level = amqtt_logger.level
        # amqtt logs a failed bind with a traceback; we report it ourselves.
        amqtt_logger.setLevel(logging.CRITICAL)
        try:
            await broker.start()
        except Exception as exc:
            # amqtt wraps the bind error; surface the OSError so the caller can retry.
            cause = exc.__cause__
            while cause is not None and not isinstance(cause, OSError):
                cause = cause.__cause__
            if isinstance(cause, OSError):
                raise cause from exc
            raise
        finally:
            amqtt_logger.setLevel(level)
        server = broker._servers["default"].instance  # amqtt has no public accessor
        self._port = int(server.sockets[0].getsockname()[1])
        self._broker = broker

    async def close(self) -> None:
        broker, self._broker = self._broker, None
        if broker is not None:
            await broker.shutdown()
            log(_logger, logging.INFO, "embedded broker stopped")
        self._port = None

    async def __aenter__(self) -> EmbeddedBroker:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
