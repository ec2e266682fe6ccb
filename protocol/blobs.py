"""Binary payloads: mesh uploads and gzip'd G-code, content-addressed by sha256.

Meshes travel on `shops/{shop}/meshes/{sha256}` as the file's bytes (STL, 3MF, OBJ);
the topic's sha256 is of those bytes. G-code travels on
`sites/{site}/printers/{printer}/gcode/{sha256}` gzip-compressed; the topic's sha256 is of
the compressed payload, published just before the `cmd.run_plate` that names it.
`compress_gcode` is deterministic (no timestamp in the gzip header), so the same G-code
always has the same hash.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib

from protocol.errors import ProtocolError, RejectionCode

MAX_MESH_BYTES = 64 * 1024 * 1024
MAX_GCODE_GZIP_BYTES = 64 * 1024 * 1024
MAX_GCODE_BYTES = 1024 * 1024 * 1024


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_blob(payload: bytes, expected_sha256: str, max_bytes: int, what: str) -> None:
    """Refuse a blob that is too large or whose hash is not the one its topic names."""
    if len(payload) > max_bytes:
        code = RejectionCode.MESH_TOO_LARGE if what == "mesh" else RejectionCode.PAYLOAD_TOO_LARGE
        raise ProtocolError(f"{what} is {len(payload)} bytes; the limit is {max_bytes} bytes", code)
    actual = sha256_hex(payload)
    if actual != expected_sha256:
        code = RejectionCode.MESH_HASH_MISMATCH if what == "mesh" else RejectionCode.INVALID_MESSAGE
        raise ProtocolError(
            f"{what} bytes hash to {actual}, not {expected_sha256} as the topic says; "
            "publish the bytes to the topic named by their own sha256",
            code,
        )


def compress_gcode(gcode: bytes) -> bytes:
    """gzip `gcode` with a fixed header, so equal G-code gives equal bytes and hash."""
    return gzip.compress(gcode, compresslevel=6, mtime=0)


def decompress_gcode(payload: bytes, expected_bytes: int) -> bytes:
    """Gunzip a G-code payload that must expand to exactly `expected_bytes`.

    Decompression stops as soon as the output passes the expected size, so a
    gzip bomb costs at most `expected_bytes` of memory."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = bytearray()
    data = payload
    try:
        while not inflater.eof:
            chunk = inflater.decompress(data, max(1, expected_bytes + 1 - len(out)))
            out += chunk
            if len(out) > expected_bytes:
                raise ProtocolError(f"G-code expands past the declared {expected_bytes} bytes")
            data = inflater.unconsumed_tail
            if not chunk and not data:
                break
    except zlib.error as exc:
        raise ProtocolError(f"G-code payload is not valid gzip: {exc}") from None
    if not inflater.eof:
        raise ProtocolError("G-code payload is a truncated gzip stream")
    if inflater.unused_data:
        raise ProtocolError("G-code payload has bytes after its gzip stream")
    if len(out) != expected_bytes:
        raise ProtocolError(
            f"G-code expands to {len(out)} bytes, not the declared {expected_bytes}"
        )
    return bytes(out)
