"""Moonraker's API as the agent uses it: JSON-RPC 2.0 over its websocket, and the
file upload endpoint.

`MoonrakerApi.open()` connects to `ws://host:port/websocket` (the API key, when the
printer's Moonraker wants one, goes in the `X-Api-Key` header) and starts a reader
thread. `call(method, params)` sends a request and waits, bounded, for its answer;
notifications (`notify_status_update`, `notify_klippy_shutdown`, ...) go to the
callback given at construction, on the reader thread. `upload()` posts a file to
`/server/files/upload` with its sha256, which Moonraker checks before keeping it.

The websocket is the `websockets` library's threaded client: one small pure-Python
dependency in the agent's base install, instead of a home-made RFC 6455.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

log = logging.getLogger(__name__)

Notification = Callable[[str, list[Any]], None]


class MoonrakerError(Exception):
    """Moonraker refused a request or could not be reached; the message says why."""


@dataclass
class _Pending:
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: str | None = None


class MoonrakerApi:
    def __init__(
        self,
        url: str,
        on_notification: Notification,
        *,
        api_key: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the Moonraker URL {url!r} must look like http://printer:7125")
        self.base_url = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
        socket_scheme = "wss" if parts.scheme == "https" else "ws"
        self.websocket_url = urlunsplit(
            (socket_scheme, parts.netloc, parts.path.rstrip("/") + "/websocket", "", "")
        )
        self.api_key = api_key
        self.timeout_s = timeout_s
        self._on_notification = on_notification
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._lock = threading.Lock()
        self._socket: ClientConnection | None = None
        self._reader: threading.Thread | None = None
        self.closed = threading.Event()
        self.closed.set()

    # -- the websocket -----------------------------------------------------------------

    def open(self) -> None:
        headers = {"X-Api-Key": self.api_key} if self.api_key else None
        try:
            self._socket = connect(
                self.websocket_url,
                additional_headers=headers,
                open_timeout=self.timeout_s,
                max_size=2**24,
            )
        except (OSError, WebSocketException, TimeoutError) as error:
            raise MoonrakerError(f"cannot open {self.websocket_url}: {error}") from error
        self.closed.clear()
        self._reader = threading.Thread(target=self._read, name="moonraker-reader", daemon=True)
        self._reader.start()

    def close(self) -> None:
        socket, self._socket = self._socket, None
        if socket is not None:
            socket.close()
        reader, self._reader = self._reader, None
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout=5)
        self.closed.set()

    def call(
        self, method: str, params: dict[str, Any] | None = None, timeout_s: float | None = None
    ) -> Any:
        """Send one JSON-RPC request and return its result (MoonrakerError otherwise)."""
        socket = self._socket
        if socket is None or self.closed.is_set():
            raise MoonrakerError("not connected to Moonraker")
        request_id = next(self._ids)
        pending = _Pending()
        with self._lock:
            self._pending[request_id] = pending
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": request_id}
        if params is not None:
            message["params"] = params
        try:
            socket.send(json.dumps(message))
            if not pending.done.wait(timeout_s or self.timeout_s):
                raise MoonrakerError(
                    f"Moonraker did not answer {method} within {timeout_s or self.timeout_s:g} s"
                )
        except (OSError, WebSocketException) as error:
            raise MoonrakerError(f"lost Moonraker while calling {method}: {error}") from error
        finally:
            with self._lock:
                self._pending.pop(request_id, None)
        if pending.error is not None:
            raise MoonrakerError(f"{method}: {pending.error}")
        return pending.result

    def _read(self) -> None:
        socket = self._socket
        try:
            while socket is not None:
                self._dispatch(socket.recv())
        except (OSError, WebSocketException) as error:
            log.info("Moonraker's websocket closed: %s", error)
        finally:
            self.closed.set()
            with self._lock:
                for pending in self._pending.values():
                    pending.error = "the connection to Moonraker closed"
                    pending.done.set()

    def _dispatch(self, text: str | bytes) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            log.warning("Moonraker sent something that is not JSON; ignored")
            return
        if not isinstance(message, dict):
            return
        if "id" in message and ("result" in message or "error" in message):
            with self._lock:
                pending = self._pending.get(message["id"])
            if pending is not None:
                error = message.get("error")
                if error is not None:
                    pending.error = str(
                        error.get("message", error) if isinstance(error, dict) else error
                    )
                pending.result = message.get("result")
                pending.done.set()
        elif isinstance(message.get("method"), str):
            params = message.get("params", [])
            self._on_notification(message["method"], params if isinstance(params, list) else [])

    # -- files -------------------------------------------------------------------------

    def upload(self, program: Path, remote_path: str, sha256: str) -> str:
        """Upload a G-code file to the `gcodes` root; returns the path Moonraker stored."""
        directory, _, name = remote_path.rpartition("/")
        boundary = "makerfarm-" + uuid.uuid4().hex
        head = b"".join(
            _form_field(boundary, key, value)
            for key, value in (("root", "gcodes"), ("path", directory), ("checksum", sha256))
        )
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        body = head + program.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        request = urllib.request.Request(
            self.base_url + "/server/files/upload",
            data=body,
            method="POST",
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
            | ({"X-Api-Key": self.api_key} if self.api_key else {}),
        )
        try:
            with urllib.request.urlopen(request, timeout=max(60.0, self.timeout_s)) as answer:
                reply = json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:300]
            raise MoonrakerError(
                f"Moonraker refused the upload of {name} ({error.code}): {detail}"
            ) from error
        except (OSError, ValueError) as error:
            raise MoonrakerError(f"cannot upload {name} to Moonraker: {error}") from error
        item = reply.get("result", reply).get("item", {}) if isinstance(reply, dict) else {}
        return str(item.get("path", remote_path))


def _form_field(boundary: str, name: str, value: str) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
    ).encode()
