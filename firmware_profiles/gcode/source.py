"""Turn what arrives (text, bytes, gzip, a file, stdin) into program text, or refuse it.

A program is UTF-8 (ASCII in practice) text, possibly gzip-compressed (the farm ships
G-code gzipped; detected by its magic bytes, not the file name). Anything else is refused
with `UnreadableProgram` saying why: binary junk, another text encoding, Prusa's binary
G-code, or a compressed file that would unpack beyond `MAX_PROGRAM_BYTES`.
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

GZIP_MAGIC = b"\x1f\x8b"
BGCODE_MAGIC = b"GCDE"
MAX_PROGRAM_BYTES = 1 << 30  # 1 GiB of text: far beyond any real plate
PIECE_CHARS = 1 << 18  # the interpreter splits the text into lines a piece at a time
_CONTROL = bytes(range(32)).translate(None, b"\t\n\r\f\v")


class UnreadableProgram(ValueError):
    """The input is not a G-code program; the message says what it is instead."""


def decode_program(data: str | bytes, max_bytes: int = MAX_PROGRAM_BYTES) -> str:
    """The program text of `data` (gzip unpacked, UTF-8 decoded, a BOM dropped)."""
    if isinstance(data, str):
        text = data
    else:
        raw = bytes(data)
        if raw.startswith(GZIP_MAGIC):
            raw = _gunzip(raw, max_bytes)
        if raw.startswith(BGCODE_MAGIC):
            raise UnreadableProgram(
                "this is Prusa binary G-code (.bgcode); export plain text G-code instead"
            )
        if len(raw) > max_bytes:
            raise UnreadableProgram(
                f"the program is {len(raw)} bytes, over the {max_bytes} byte limit"
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise UnreadableProgram(
                f"not UTF-8 text: byte 0x{raw[error.start]:02x} at offset {error.start} "
                "cannot be decoded; a G-code program is plain ASCII/UTF-8 text"
            ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    _refuse_binary(text)
    return text


def read_program(path: str | Path) -> str:
    """The program in a file, or on stdin for "-"; errors name the file."""
    name = "stdin" if str(path) == "-" else str(path)
    if str(path) == "-":
        data = sys.stdin.buffer.read()
    else:
        file = Path(path)
        if not file.exists():
            raise UnreadableProgram(f"{file}: no such file")
        if file.is_dir():
            raise UnreadableProgram(f"{file} is a directory, not a G-code file")
        try:
            data = file.read_bytes()
        except OSError as error:
            raise UnreadableProgram(f"{file}: {error.strerror}") from None
    try:
        return decode_program(data)
    except UnreadableProgram as error:
        raise UnreadableProgram(f"{name}: {error}") from None


def _gunzip(raw: bytes, max_bytes: int) -> bytes:
    unpacker = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    parts: list[bytes] = []
    size = 0
    pending = raw
    try:
        while pending:
            chunk = unpacker.decompress(pending, max_bytes + 1 - size)
            parts.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                raise UnreadableProgram(f"the gzip file unpacks to more than {max_bytes} bytes")
            pending = unpacker.unconsumed_tail
            if unpacker.eof:
                # Concatenated gzip members are one file too.
                rest = unpacker.unused_data
                if not rest:
                    break
                unpacker = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
                pending = rest
    except zlib.error as error:
        raise UnreadableProgram(f"the gzip data is damaged: {error}") from None
    if not unpacker.eof:
        raise UnreadableProgram("the gzip data is truncated")
    return b"".join(parts)


def _refuse_binary(text: str) -> None:
    """Refuse text with NUL bytes or many control characters: binary junk, not G-code."""
    if "\x00" in text:
        offset = text.index("\x00")
        raise UnreadableProgram(
            f"binary data: a NUL byte at character {offset}; this is not a G-code text file"
        )
    sample = text[: 1 << 16]
    controls = sum(sample.count(chr(c)) for c in _CONTROL)
    if controls > max(8, len(sample) // 100):
        raise UnreadableProgram(
            f"binary data: {controls} control characters in the first {len(sample)} "
            "characters; this is not a G-code text file"
        )


def program_pieces(text: str) -> Iterator[tuple[list[str], int]]:
    """The program's lines, about `PIECE_CHARS` of text at a time, with the first line's
    number."""
    start, line, size = 0, 1, len(text)
    while start < size:
        end = text.find("\n", start + PIECE_CHARS)
        if end < 0:
            end = size
        lines = text[start:end].split("\n")
        yield lines, line
        line += len(lines)
        start = end + 1
