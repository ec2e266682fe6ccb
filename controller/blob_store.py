"""Content-addressed files under the data directory: meshes and gzip'd G-code.

A blob is stored once, at `<dir>/<sha256><suffix>`, written to a temporary file and renamed
into place, so a reader never sees half a file and a crash leaves no partial blob behind.
Storing the same bytes again is a no-op. The methods are plain blocking file I/O: the
service calls them through `asyncio.to_thread`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from protocol.blobs import sha256_hex
from protocol.fields import SHA256_RE


class BlobStore:
    def __init__(self, directory: Path, suffix: str = "") -> None:
        self.directory = directory
        self.suffix = suffix

    def path(self, sha256: str) -> Path:
        if not SHA256_RE.fullmatch(sha256):
            raise ValueError(f"{sha256!r} is not a sha256 hex digest")
        return self.directory / f"{sha256}{self.suffix}"

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put(self, data: bytes, sha256: str | None = None) -> tuple[str, bool]:
        """Store `data`; returns (its sha256, whether it was new)."""
        digest = sha256_hex(data)
        if sha256 is not None and sha256 != digest:
            raise ValueError(f"data hashes to {digest}, not {sha256}")
        target = self.path(digest)
        if target.is_file():
            return digest, False
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return digest, True

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()
