"""The local spool: plates' G-code on the Pi's disk, named by sha256.

A plate's program arrives gzip-compressed on the printer's gcode topic, named by
the sha256 of the compressed bytes. The blob is kept only when its hash matches
(`store_blob`). When the run_plate command names it, it is decompressed in
bounded chunks to exactly the size the command declares (`unpack`): a hostile or
broken blob cannot fill the disk or the memory of a Pi. Files are written under a
temporary name and renamed, so a crash never leaves half a file under a valid name.
"""

from __future__ import annotations

import os
import time
import zlib
from collections.abc import Iterable
from pathlib import Path

from protocol import MAX_GCODE_GZIP_BYTES, ProtocolError, check_blob

_CHUNK_BYTES = 64 * 1024
_GZIP_WBITS = 16 + zlib.MAX_WBITS
STALE_BLOB_S = 24 * 3600


class SpoolError(Exception):
    """A blob or program that cannot be used; the message says why."""


class Spool:
    def __init__(self, directory: Path) -> None:
        self.blobs = directory / "blobs"
        self.programs = directory / "gcode"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.programs.mkdir(parents=True, exist_ok=True)

    def blob_path(self, sha256: str) -> Path:
        return self.blobs / f"{sha256}.gcode.gz"

    def program_path(self, sha256: str) -> Path:
        return self.programs / f"{sha256}.gcode"

    def has_blob(self, sha256: str) -> bool:
        return self.blob_path(sha256).is_file()

    def store_blob(self, sha256: str, payload: bytes) -> Path:
        """Keep a gzip'd G-code blob whose bytes hash to `sha256`."""
        try:
            check_blob(payload, sha256, MAX_GCODE_GZIP_BYTES, "G-code")
        except ProtocolError as error:
            raise SpoolError(error.reason) from error
        path = self.blob_path(sha256)
        if not path.is_file():
            _write_atomically(path, payload)
        return path

    def unpack(self, sha256: str, expected_bytes: int, max_bytes: int) -> Path:
        """The program of blob `sha256`, decompressed to disk; SpoolError when the blob is
        missing, bigger than `max_bytes`, or not exactly `expected_bytes` long."""
        program = self.program_path(sha256)
        if program.is_file() and program.stat().st_size == expected_bytes:
            return program
        if expected_bytes > max_bytes:
            raise SpoolError(
                f"the plate's G-code is {expected_bytes} bytes; this agent accepts "
                f"at most {max_bytes} (max_plate_bytes)"
            )
        blob = self.blob_path(sha256)
        if not blob.is_file():
            raise SpoolError(f"no G-code blob {sha256} arrived on the printer's gcode topic")
        partial = program.with_name(f"{program.name}.part{os.getpid()}")
        try:
            size = _inflate(blob, partial, expected_bytes)
            if size != expected_bytes:
                raise SpoolError(
                    f"the G-code decompresses to {size} bytes, not the "
                    f"{expected_bytes} the command declares"
                )
            os.replace(partial, program)
        finally:
            partial.unlink(missing_ok=True)
        return program

    def discard(self, sha256: str) -> None:
        """Forget a plate's blob and program once the plate has ended."""
        self.blob_path(sha256).unlink(missing_ok=True)
        self.program_path(sha256).unlink(missing_ok=True)

    def prune(self, keep: Iterable[str] = (), older_than_s: float = STALE_BLOB_S) -> int:
        """Remove blobs and programs untouched for a day, except those of the plates
        in `keep` (sha256s); returns how many files went."""
        cutoff = time.time() - older_than_s
        kept = {name for sha in keep for name in (f"{sha}.gcode.gz", f"{sha}.gcode")}
        removed = 0
        for folder in (self.blobs, self.programs):
            for path in folder.iterdir():
                if path.name not in kept and path.stat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed


def _write_atomically(path: Path, payload: bytes) -> None:
    partial = path.with_name(f"{path.name}.part{os.getpid()}")
    try:
        with open(partial, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _inflate(blob: Path, target: Path, limit: int) -> int:
    """Gunzip `blob` into `target`, refusing to write more than `limit` bytes."""
    inflater = zlib.decompressobj(wbits=_GZIP_WBITS)
    written = 0
    with open(blob, "rb") as source, open(target, "wb") as sink:
        while not inflater.eof:
            pending = inflater.unconsumed_tail or source.read(_CHUNK_BYTES)
            try:
                chunk = inflater.decompress(pending, _CHUNK_BYTES)
            except zlib.error as error:
                raise SpoolError(f"the G-code blob is not valid gzip: {error}") from error
            if not chunk and not pending and not inflater.eof:
                raise SpoolError("the G-code blob is truncated: its gzip stream does not end")
            written += len(chunk)
            if written > limit:
                raise SpoolError(
                    f"the G-code decompresses to more than the {limit} bytes the command declares"
                )
            sink.write(chunk)
        if inflater.unused_data or source.read(1):
            raise SpoolError("the G-code blob has bytes after the end of its gzip stream")
        sink.flush()
        os.fsync(sink.fileno())
    return written
