"""Turn what arrives (text, bytes, gzip, a file, stdin) into program text, or refuse it.

A program is UTF-8 (ASCII in practice) text, possibly gzip-compressed (the farm ships
G-code gzipped; detected by its magic bytes, not the file name). Anything else is refused
with `UnreadableProgram` saying why: binary junk, another text encoding, Prusa's binary
G-code, or a compressed file that would unpack beyond `MAX_PROGRAM_BYTES`.

A file need not be read whole: `open_program` checks it in one pass a chunk at a time
(the same checks, the same reasons) and `ProgramFile.pieces()` then hands the
interpreter the pieces `program_pieces` would cut from its text, a few hundred lines at
a time, so a program of any size is interpreted in bounded memory (a Raspberry Pi agent
checks every plate).
"""

from __future__ import annotations

import codecs
import os
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from firmware_profiles.gcode.stats import LAYER_MARKERS

GZIP_MAGIC = b"\x1f\x8b"
BGCODE_MAGIC = b"GCDE"
MAX_PROGRAM_BYTES = 1 << 30  # 1 GiB of text: far beyond any real plate
PIECE_CHARS = 1 << 18  # the interpreter splits the text into lines a piece at a time
CHUNK_BYTES = 1 << 16  # a program file is read this much at a time
SUB_PIECE_CHARS = 1 << 14  # and cut into lines this much at a time
CONTROL_SAMPLE_CHARS = 1 << 16  # control characters are counted in this much of the text
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
    _refuse_controls(text[:CONTROL_SAMPLE_CHARS])


def _refuse_controls(sample: str) -> None:
    controls = sum(sample.count(chr(c)) for c in _CONTROL)
    if controls > max(8, len(sample) // 100):
        raise UnreadableProgram(
            f"binary data: {controls} control characters in the first {len(sample)} "
            "characters; this is not a G-code text file"
        )


def program_pieces(text: str) -> Iterator[tuple[list[str], int, bool]]:
    """The program's lines, about `PIECE_CHARS` of text at a time, with the first line's
    number."""
    start, line, size = 0, 1, len(text)
    while start < size:
        end = text.find("\n", start + PIECE_CHARS)
        if end < 0:
            end = size
        lines = text[start:end].split("\n")
        yield lines, line, True
        line += len(lines)
        start = end + 1


# -- a program file, a chunk at a time ------------------------------------------------------


@dataclass(frozen=True)
class ProgramFile:
    """A program file `open_program` found readable, and what the interpreter needs to
    know before its first line: how many lines it has, whether a slicer marked its
    layers (`markers` at the start of a line), and whether its lines end in a lone CR."""

    path: Path
    max_bytes: int
    lines: int
    has_layer_marker: bool
    mac_line_ends: bool

    def pieces(self) -> Iterator[tuple[list[str], int, bool]]:
        """The program's lines in sub-pieces of about `SUB_PIECE_CHARS`, with the first
        line's number and whether the sub-piece ends a piece as `program_pieces` cuts the
        text (the interpreter hands its moves to the planner there, as for the text)."""
        buffer = ""
        first = 1
        position = 0  # of buffer[0] in the text
        piece_start = 0  # where the piece being cut began
        ended = True  # the last sub-piece ended a piece
        for text in _texts(self.path, self.max_bytes):
            if self.mac_line_ends:
                text = text.replace("\r", "\n")
            buffer += text
            del text
            while True:
                cut_from = min(piece_start + PIECE_CHARS, position + SUB_PIECE_CHARS)
                end = buffer.find("\n", cut_from - position)
                if end < 0:
                    break
                ended = position + end >= piece_start + PIECE_CHARS
                lines = buffer[:end].split("\n")
                buffer = buffer[end + 1 :]
                position += end + 1
                if ended:
                    piece_start = position
                count = len(lines)
                yield lines, first, ended
                del lines  # before the next one is cut: one sub-piece in memory at a time
                first += count
        if buffer or not ended:
            yield (buffer.split("\n") if buffer else []), first, True


def open_program(
    path: str | Path,
    markers: tuple[str, ...] = LAYER_MARKERS,
    max_bytes: int = MAX_PROGRAM_BYTES,
) -> ProgramFile:
    """Check a program file in one pass, a chunk at a time, as `read_program` and
    `decode_program` check it whole (same refusals, naming the file). `markers`: the
    slicers' layer comments the interpreter looks for."""
    file = Path(path)
    try:
        return _scan(file, markers, max_bytes)
    except UnreadableProgram as error:
        raise UnreadableProgram(f"{file}: {error}") from None
    except FileNotFoundError:
        raise UnreadableProgram(f"{file}: no such file") from None
    except IsADirectoryError:
        raise UnreadableProgram(f"{file} is a directory, not a G-code file") from None
    except OSError as error:
        raise UnreadableProgram(f"{file}: {error.strerror}") from None


def _scan(path: Path, markers: tuple[str, ...], max_bytes: int) -> ProgramFile:
    newlines = crs = chars = 0
    last = ""  # the text's last character
    tail = "\n"  # the end of the text so far (a line starts before the first character)
    keep = max((len(marker) for marker in markers), default=0)
    after_lf = after_cr = False  # a marker starts a line (after a lone CR, for Mac files)
    nul_at = -1
    sample = ""
    not_utf8: UnreadableProgram | None = None
    decoder = _Decoder()
    # Every byte is read even past a decoding error: gzip and size errors come first, as
    # in decode_program.
    for data in _raw_chunks(path, max_bytes):
        if not_utf8 is not None:
            continue
        try:
            text = decoder.decode(data)
        except UnreadableProgram as error:
            not_utf8 = error
            continue
        if nul_at < 0 and "\x00" in text:
            nul_at = chars + text.index("\x00")
        if len(sample) < CONTROL_SAMPLE_CHARS:
            sample += text[: CONTROL_SAMPLE_CHARS - len(sample)]
        newlines += text.count("\n")
        crs += text.count("\r")
        window = tail + text
        after_lf = after_lf or any(f"\n{marker}" in window for marker in markers)
        after_cr = after_cr or any(f"\r{marker}" in window for marker in markers)
        tail = window[-(keep + 1) :]
        if text:
            chars += len(text)
            last = text[-1]
    if not_utf8 is None:
        decoder.decode(b"", final=True)  # raises when the text ends inside a character
    else:
        raise not_utf8
    if nul_at >= 0:
        raise UnreadableProgram(
            f"binary data: a NUL byte at character {nul_at}; this is not a G-code text file"
        )
    _refuse_controls(sample)
    mac = newlines == 0 and crs > 0
    ending = "\r" if mac else "\n"
    lines = (crs if mac else newlines) + (0 if not chars or last == ending else 1)
    return ProgramFile(path, max_bytes, lines, after_lf or (mac and after_cr), mac)


class _Decoder:
    """UTF-8 a chunk at a time, a BOM dropped; `decode_program`'s reason on bad bytes."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._offset = 0  # bytes decoded so far
        self._started = False

    def decode(self, data: bytes, final: bool = False) -> str:
        try:
            text = self._decoder.decode(data, final)
        except UnicodeDecodeError as error:
            held = len(error.object) - len(data)  # bytes held back from the chunk before
            raise UnreadableProgram(
                f"not UTF-8 text: byte 0x{error.object[error.start]:02x} at offset "
                f"{self._offset - held + error.start} cannot be decoded; a G-code program "
                "is plain ASCII/UTF-8 text"
            ) from None
        self._offset += len(data)
        if not self._started and text:
            self._started = True
            if text.startswith("\ufeff"):
                text = text[1:]
        return text


def _texts(path: Path, max_bytes: int) -> Iterator[str]:
    """The file's text a chunk at a time (gzip unpacked, UTF-8 decoded, a BOM dropped)."""
    decoder = _Decoder()
    for data in _raw_chunks(path, max_bytes):
        text = decoder.decode(data)
        if text:
            yield text
    rest = decoder.decode(b"", final=True)
    if rest:
        yield rest


def _raw_chunks(path: Path, max_bytes: int) -> Iterator[bytes]:
    """The program's bytes a chunk at a time: gzip unpacked (every member), Prusa's
    binary G-code and programs over `max_bytes` refused."""
    with open(path, "rb") as handle:
        head = handle.read(CHUNK_BYTES)
        if head.startswith(GZIP_MAGIC):
            chunks = _gunzip_chunks(head, handle, max_bytes)
        else:
            size = os.fstat(handle.fileno()).st_size
            if not head.startswith(BGCODE_MAGIC) and size > max_bytes:
                raise UnreadableProgram(
                    f"the program is {size} bytes, over the {max_bytes} byte limit"
                )
            chunks = _plain_chunks(head, handle)
        first = True
        for chunk in chunks:
            if first:
                first = False
                if chunk.startswith(BGCODE_MAGIC) or (
                    len(chunk) < len(BGCODE_MAGIC) and BGCODE_MAGIC.startswith(chunk)
                ):
                    chunk = _whole_head(chunk, chunks)
                    if chunk.startswith(BGCODE_MAGIC):
                        raise UnreadableProgram(
                            "this is Prusa binary G-code (.bgcode); export plain text "
                            "G-code instead"
                        )
            yield chunk


def _whole_head(chunk: bytes, chunks: Iterator[bytes]) -> bytes:
    """`chunk` extended with the chunks after it until it holds the magic's length."""
    while len(chunk) < len(BGCODE_MAGIC):
        more = next(chunks, b"")
        if not more:
            break
        chunk += more
    return chunk


def _plain_chunks(head: bytes, handle: BinaryIO) -> Iterator[bytes]:
    chunk = head
    while chunk:
        yield chunk
        chunk = handle.read(CHUNK_BYTES)


def _gunzip_chunks(head: bytes, handle: BinaryIO, max_bytes: int) -> Iterator[bytes]:
    read = handle.read
    unpacker = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    size = 0
    pending = head
    try:
        while True:
            if not pending:
                pending = read(CHUNK_BYTES)
                if not pending:
                    break
            chunk = unpacker.decompress(pending, CHUNK_BYTES)
            size += len(chunk)
            if size > max_bytes:
                raise UnreadableProgram(f"the gzip file unpacks to more than {max_bytes} bytes")
            if chunk:
                yield chunk
            pending = unpacker.unconsumed_tail
            if unpacker.eof:
                # Concatenated gzip members are one file too.
                rest = unpacker.unused_data or read(CHUNK_BYTES)
                if not rest:
                    return
                unpacker = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
                pending = rest
    except zlib.error as error:
        raise UnreadableProgram(f"the gzip data is damaged: {error}") from None
    raise UnreadableProgram("the gzip data is truncated")
