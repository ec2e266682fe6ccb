"""The spool keeps only blobs whose hash matches and never inflates past the declared size."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from agent.spool import Spool, SpoolError
from protocol import compress_gcode, sha256_hex

PROGRAM = b"G28\nG1 X10 Y10 F3000\n" * 100


def test_blob_is_stored_by_hash_and_unpacked_to_its_program(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    blob = compress_gcode(PROGRAM)
    sha = sha256_hex(blob)
    spool.store_blob(sha, blob)
    program = spool.unpack(sha, len(PROGRAM), max_bytes=10_000_000)
    assert program.read_bytes() == PROGRAM
    spool.discard(sha)
    assert not spool.has_blob(sha) and not program.exists()


def test_blob_whose_bytes_do_not_match_its_hash_is_refused(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    with pytest.raises(SpoolError, match="hash to"):
        spool.store_blob("0" * 64, compress_gcode(PROGRAM))
    assert not spool.has_blob("0" * 64)


def test_declared_size_bounds_decompression(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    bomb = gzip.compress(b"G1 X1\n" * 2_000_000)  # 12 MB of G-code from a few KB
    sha = sha256_hex(bomb)
    spool.store_blob(sha, bomb)
    with pytest.raises(SpoolError, match="more than the 1000 bytes"):
        spool.unpack(sha, 1000, max_bytes=10_000_000)
    with pytest.raises(SpoolError, match="max_plate_bytes"):
        spool.unpack(sha, 12_000_000, max_bytes=1_000_000)
    assert list(spool.programs.iterdir()) == []


def test_truncated_or_garbage_blob_is_refused(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    truncated = compress_gcode(PROGRAM)[:-20]
    spool.store_blob(sha256_hex(truncated), truncated)
    with pytest.raises(SpoolError, match=r"truncated|not valid gzip"):
        spool.unpack(sha256_hex(truncated), len(PROGRAM), max_bytes=10_000_000)
    junk = b"not gzip at all"
    spool.store_blob(sha256_hex(junk), junk)
    with pytest.raises(SpoolError, match="not valid gzip"):
        spool.unpack(sha256_hex(junk), 10, max_bytes=10_000_000)


def test_unpacking_a_missing_blob_says_so(tmp_path: Path) -> None:
    with pytest.raises(SpoolError, match="no G-code blob"):
        Spool(tmp_path).unpack("a" * 64, 10, max_bytes=100)


def test_prune_removes_stale_files_but_keeps_the_plates_asked_for(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    blobs = [compress_gcode(PROGRAM + bytes([n])) for n in range(2)]
    for blob in blobs:
        spool.store_blob(sha256_hex(blob), blob)
    assert spool.prune(keep=[sha256_hex(blobs[0])], older_than_s=-1) == 1
    assert spool.has_blob(sha256_hex(blobs[0])) and not spool.has_blob(sha256_hex(blobs[1]))
