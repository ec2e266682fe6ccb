"""Mesh and G-code blobs: content-addressed by sha256, G-code gzip'd deterministically and
unpacked with a hard size bound, so a gzip bomb or a swapped payload is refused."""

from __future__ import annotations

import gzip

import pytest

from protocol import (
    MAX_MESH_BYTES,
    ProtocolError,
    RejectionCode,
    check_blob,
    compress_gcode,
    decompress_gcode,
    sha256_hex,
)

GCODE = b"".join(b"G1 X%d Y%d E0.05\n" % (i % 200, i % 180) for i in range(5000))


def test_compression_is_deterministic_so_equal_gcode_has_one_hash() -> None:
    assert sha256_hex(compress_gcode(GCODE)) == sha256_hex(compress_gcode(GCODE))
    assert compress_gcode(GCODE) != gzip.compress(GCODE, mtime=12345)


def test_gcode_round_trips_at_its_declared_size() -> None:
    assert decompress_gcode(compress_gcode(GCODE), len(GCODE)) == GCODE


def test_a_gzip_bomb_stops_at_the_declared_size() -> None:
    bomb = compress_gcode(b"\0" * 50_000_000)
    assert len(bomb) < 100_000
    with pytest.raises(ProtocolError, match="expands past the declared 1000 bytes"):
        decompress_gcode(bomb, 1000)


def test_gcode_shorter_than_declared_is_refused() -> None:
    with pytest.raises(ProtocolError, match=f"expands to {len(GCODE)} bytes"):
        decompress_gcode(compress_gcode(GCODE), len(GCODE) + 1)


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        (b"G28\nG1 X10\n", "not valid gzip"),
        (compress_gcode(GCODE)[:-20], "truncated"),
        (compress_gcode(GCODE) + b"extra", "after its gzip stream"),
        (b"", "truncated"),
    ],
)
def test_damaged_gcode_payloads_are_refused(payload: bytes, says: str) -> None:
    with pytest.raises(ProtocolError, match=says):
        decompress_gcode(payload, len(GCODE))


def test_a_mesh_is_accepted_only_under_its_own_hash() -> None:
    mesh = b"solid cube\nendsolid cube\n"
    check_blob(mesh, sha256_hex(mesh), MAX_MESH_BYTES, "mesh")
    with pytest.raises(ProtocolError) as caught:
        check_blob(mesh, "0" * 64, MAX_MESH_BYTES, "mesh")
    assert caught.value.code is RejectionCode.MESH_HASH_MISMATCH
    assert sha256_hex(mesh) in str(caught.value)


def test_an_oversized_mesh_is_refused_before_hashing() -> None:
    with pytest.raises(ProtocolError) as caught:
        check_blob(b"x" * 101, "0" * 64, 100, "mesh")
    assert caught.value.code is RejectionCode.MESH_TOO_LARGE
    assert "the limit is 100 bytes" in str(caught.value)
