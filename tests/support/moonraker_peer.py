"""A Moonraker (with a Klipper behind it) for the Klipper back-end's tests.

Built from Moonraker's documented API (https://moonraker.readthedocs.io/en/latest/
web_api/): one HTTP port serving the websocket at `/websocket` (JSON-RPC 2.0:
`server.info`, `printer.objects.subscribe` with `notify_status_update`,
`printer.print.start|pause|resume|cancel`, `printer.gcode.script`) and
`POST /server/files/upload` (multipart form: `file`, `root`, `path`, `checksum`;
a sha256 that does not match is refused with 422). The websocket side is written
here from RFC 6455 with the standard library, independent of the client's library.

A started print runs for `print_seconds`, advancing `virtual_sdcard.progress`;
`hold_at(p)` stops it at progress p until `release()`. `shutdown(message)` is a
Klipper shutdown (MCU error, thermal runaway). It records uploaded files, started
prints and every G-code script it ran.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class MoonrakerPeer:
    def __init__(
        self, *, print_seconds: float = 1.0, api_key: str | None = None, klippy_state: str = "ready"
    ) -> None:
        self.print_seconds = print_seconds
        self.api_key = api_key
        self.files: dict[str, bytes] = {}
        self.started: list[str] = []
        self.scripts: list[str] = []
        self.calls: list[str] = []
        self.status: dict[str, dict[str, Any]] = {
            "webhooks": {"state": klippy_state, "state_message": "Printer is ready"},
            "print_stats": {"state": "standby", "filename": "", "message": ""},
            "virtual_sdcard": {"progress": 0.0, "is_active": False},
            "extruder": {"temperature": 22.0, "target": 0.0},
            "heater_bed": {"temperature": 21.0, "target": 0.0},
            "exclude_object": {"objects": [], "excluded_objects": [], "current_object": None},
        }
        self._hold: float | None = None
        self._lock = threading.RLock()
        self._clients: list[_Socket] = []
        self._stop = threading.Event()
        peer = self

        class Handler(_Handler):
            moonraker = peer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._threads = [
            threading.Thread(target=self._server.serve_forever, daemon=True),
            threading.Thread(target=self._tick, daemon=True),
        ]

    def start(self) -> MoonrakerPeer:
        for thread in self._threads:
            thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            for client in self._clients:
                client.close()

    # -- what a test does to the printer -----------------------------------------------

    def hold_at(self, progress: float) -> None:
        with self._lock:
            self._hold = progress

    def release(self) -> None:
        with self._lock:
            self._hold = None

    def shutdown(self, message: str) -> None:
        with self._lock:
            self._set({"webhooks": {"state": "shutdown", "state_message": message}})
            if self.status["print_stats"]["state"] in ("printing", "paused"):
                self._set({"print_stats": {"state": "error", "message": message}})
            self._notify("notify_klippy_shutdown", [])

    def drop_clients(self) -> None:
        """Close every websocket (Moonraker restarted)."""
        with self._lock:
            for client in self._clients:
                client.close()

    # -- JSON-RPC ----------------------------------------------------------------------

    def rpc(self, method: str, params: dict[str, Any]) -> Any:
        with self._lock:
            self.calls.append(method)
            handler = getattr(self, "_rpc_" + method.replace(".", "_"), None)
            if handler is None:
                raise _RpcError(-32601, f"Method not found: {method}")
            return handler(params)

    def _rpc_server_info(self, params: dict[str, Any]) -> Any:
        state = self.status["webhooks"]["state"]
        return {
            "klippy_connected": True,
            "klippy_state": state,
            "components": ["file_manager", "klippy_apis"],
            "moonraker_version": "peer",
        }

    def _rpc_printer_objects_subscribe(self, params: dict[str, Any]) -> Any:
        names = params.get("objects", {})
        return {
            "eventtime": time.monotonic(),
            "status": {name: dict(self.status[name]) for name in names if name in self.status},
        }

    def _rpc_printer_print_start(self, params: dict[str, Any]) -> Any:
        name = params.get("filename", "")
        if name not in self.files:
            raise _RpcError(400, f"File {name} does not exist")
        if self.status["print_stats"]["state"] in ("printing", "paused"):
            raise _RpcError(400, "Printer is busy")
        self.started.append(name)
        objects = re.findall(r"EXCLUDE_OBJECT_DEFINE NAME=(\S+)", self.files[name].decode())
        self._set(
            {
                "print_stats": {"state": "printing", "filename": name, "message": ""},
                "virtual_sdcard": {"progress": 0.0, "is_active": True},
                "extruder": {"target": 210.0, "temperature": 210.0},
                "exclude_object": {
                    "objects": [{"name": o} for o in objects],
                    "excluded_objects": [],
                },
            }
        )
        return "ok"

    def _rpc_printer_print_pause(self, params: dict[str, Any]) -> Any:
        self._require("printing")
        self._set({"print_stats": {"state": "paused"}})
        return "ok"

    def _rpc_printer_print_resume(self, params: dict[str, Any]) -> Any:
        self._require("paused")
        self._set({"print_stats": {"state": "printing"}})
        return "ok"

    def _rpc_printer_print_cancel(self, params: dict[str, Any]) -> Any:
        self._require("printing", "paused")
        self._set(
            {
                "print_stats": {"state": "cancelled"},
                "virtual_sdcard": {"is_active": False},
                "extruder": {"target": 0.0},
            }
        )
        return "ok"

    def _rpc_printer_gcode_script(self, params: dict[str, Any]) -> Any:
        script = str(params.get("script", ""))
        self.scripts.append(script)
        for name in re.findall(r"^EXCLUDE_OBJECT NAME=(\S+)", script, re.MULTILINE):
            excluded = [*self.status["exclude_object"]["excluded_objects"], name]
            self._set({"exclude_object": {"excluded_objects": excluded}})
        for heater, target in re.findall(
            r"SET_HEATER_TEMPERATURE HEATER=(\S+) TARGET=(\S+)", script
        ):
            self._set({heater: {"target": float(target)}})
        return "ok"

    def _require(self, *states: str) -> None:
        if self.status["print_stats"]["state"] not in states:
            raise _RpcError(400, "Print is not in a state to do that")

    # -- the simulated print -----------------------------------------------------------

    def _tick(self) -> None:
        step = 0.02
        while not self._stop.wait(step):
            with self._lock:
                if self.status["print_stats"]["state"] != "printing":
                    continue
                progress = self.status["virtual_sdcard"]["progress"]
                progress = min(1.0, progress + step / self.print_seconds)
                if self._hold is not None:
                    progress = min(progress, self._hold)
                if progress >= 1.0:
                    self._set(
                        {
                            "virtual_sdcard": {"progress": 1.0, "is_active": False},
                            "print_stats": {"state": "complete"},
                            "extruder": {"target": 0.0},
                        }
                    )
                else:
                    self._set({"virtual_sdcard": {"progress": round(progress, 4)}})

    def _set(self, changes: dict[str, dict[str, Any]]) -> None:
        for name, fields in changes.items():
            self.status[name].update(fields)
        self._notify("notify_status_update", [changes, time.monotonic()])

    def _notify(self, method: str, params: list[Any]) -> None:
        text = json.dumps({"jsonrpc": "2.0", "method": method, "params": params})
        for client in list(self._clients):
            client.send_text(text)

    def upload(self, fields: dict[str, bytes], filename: str) -> tuple[int, dict[str, Any]]:
        data = fields.get("file", b"")
        path = fields.get("path", b"").decode().strip("/")
        full = f"{path}/{filename}" if path else filename
        checksum = fields.get("checksum", b"").decode()
        if checksum and hashlib.sha256(data).hexdigest() != checksum:
            return 422, {"error": {"code": 422, "message": "File checksum mismatch"}}
        with self._lock:
            self.files[full] = data
        return 201, {"item": {"path": full, "root": "gcodes"}, "action": "create_file"}


class _RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class _Socket:
    """The server side of one websocket (RFC 6455): unmasked frames out, masked in."""

    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection
        self._send_lock = threading.Lock()
        self.open = True

    def send_text(self, text: str) -> None:
        self._frame(0x1, text.encode())

    def close(self) -> None:
        if self.open:
            self.open = False
            try:
                self._frame(0x8, struct.pack("!H", 1001))
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _frame(self, opcode: int, payload: bytes) -> None:
        size = len(payload)
        if size < 126:
            head = struct.pack("!BB", 0x80 | opcode, size)
        elif size < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 126, size)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 127, size)
        with self._send_lock:
            try:
                self.connection.sendall(head + payload)
            except OSError:
                self.open = False

    def receive(self) -> str | None:
        """The next text message (None when the connection closes)."""
        message = b""
        while True:
            head = self._exactly(2)
            if head is None:
                return None
            opcode, size = head[0] & 0x0F, head[1] & 0x7F
            if size == 126:
                size = struct.unpack("!H", self._exactly(2) or b"\0\0")[0]
            elif size == 127:
                size = struct.unpack("!Q", self._exactly(8) or b"\0" * 8)[0]
            mask = self._exactly(4) if head[1] & 0x80 else b"\0\0\0\0"
            payload = self._exactly(size) if size else b""
            if mask is None or payload is None:
                return None
            data = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
            if opcode == 0x8:
                self.close()
                return None
            if opcode == 0x9:
                self._frame(0xA, data)
                continue
            if opcode in (0x1, 0x0):
                message += data
                if head[0] & 0x80:
                    return message.decode()

    def _exactly(self, size: int) -> bytes | None:
        data = b""
        while len(data) < size:
            try:
                chunk = self.connection.recv(size - len(data))
            except OSError:
                return None
            if not chunk:
                return None
            data += chunk
        return data


class _Handler(BaseHTTPRequestHandler):
    moonraker: MoonrakerPeer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _authorised(self) -> bool:
        key = self.moonraker.api_key
        if key is None or self.headers.get("X-Api-Key") == key:
            return True
        self._json(401, {"error": {"code": 401, "message": "Unauthorized"}})
        return False

    def do_GET(self) -> None:
        if self.path != "/websocket" or "websocket" not in self.headers.get("Upgrade", "").lower():
            self._json(404, {"error": {"code": 404, "message": "Not Found"}})
            return
        if not self._authorised():
            return
        accept = base64.b64encode(
            hashlib.sha1((self.headers["Sec-WebSocket-Key"] + _GUID).encode()).digest()
        ).decode()
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        client = _Socket(self.connection)
        with self.moonraker._lock:
            self.moonraker._clients.append(client)
        try:
            while (text := client.receive()) is not None:
                self._answer(client, json.loads(text))
        finally:
            with self.moonraker._lock:
                self.moonraker._clients.remove(client)
            self.close_connection = True

    def _answer(self, client: _Socket, request: dict[str, Any]) -> None:
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request.get("id")}
        try:
            reply["result"] = self.moonraker.rpc(request["method"], request.get("params", {}))
        except _RpcError as error:
            reply["error"] = {"code": error.code, "message": str(error)}
        client.send_text(json.dumps(reply))

    def do_POST(self) -> None:
        if self.path != "/server/files/upload":
            self._json(404, {"error": {"code": 404, "message": "Not Found"}})
            return
        if not self._authorised():
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        boundary = self.headers.get_param("boundary") or ""
        fields, filename = _multipart(body, str(boundary))
        status, reply = self.moonraker.upload(fields, filename)
        self._json(status, {"result": reply} if status < 400 else reply)

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _multipart(body: bytes, boundary: str) -> tuple[dict[str, bytes], str]:
    fields: dict[str, bytes] = {}
    filename = ""
    for part in body.split(b"--" + boundary.encode()):
        if b"\r\n\r\n" not in part:
            continue
        head, _, content = part.partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]*)"', head)
        if name is None:
            continue
        found = re.search(rb'filename="([^"]*)"', head)
        if found:
            filename = found.group(1).decode()
        fields[name.group(1).decode()] = content.removesuffix(b"\r\n")
    return fields, filename


@contextmanager
def moonraker_peer(**options: Any) -> Iterator[MoonrakerPeer]:
    peer = MoonrakerPeer(**options).start()
    try:
        yield peer
    finally:
        peer.close()
