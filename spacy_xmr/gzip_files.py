"""Open input files gzipped or not, decided by the gzip magic bytes rather than by the file name.

Users rename files (`onto.json.gz`, a gzipped corpus saved as `.txt`); readers must not care.
"""
from __future__ import annotations

import gzip
from pathlib import Path
from typing import IO, Iterator

from .errors import InputFormatError

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = "\ufeff"


def is_gzip(path: str | Path) -> bool:
    """True when the file starts with the gzip magic bytes."""
    with open(path, "rb") as handle:
        return handle.read(len(GZIP_MAGIC)) == GZIP_MAGIC


def open_binary(path: str | Path) -> IO[bytes]:
    """The file's bytes, decompressed when it is gzipped."""
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")


def unreadable(path: str | Path, err: Exception, line: int) -> InputFormatError:
    """The error for a file whose bytes cannot be read (OSError or EOFError while reading: corrupt or cut gzip data),
    naming the line where the readable part ended."""
    return InputFormatError(path, f"cannot read the file (truncated or corrupt gzip?): {err}", line)


def text_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """(line number, text without its line end) of a UTF-8 file, a leading BOM dropped, decompressed when gzipped;
    each line is decoded on its own so that undecodable bytes and corrupt gzip data are reported with their line."""
    line_no = 0
    try:
        with open_binary(path) as handle:
            for line_no, raw in enumerate(handle, start=1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as err:
                    message = f"not UTF-8 text (byte {err.start + 1} of the line); save the file as UTF-8"
                    raise InputFormatError(path, message, line_no) from None
                yield line_no, (line.lstrip(UTF8_BOM) if line_no == 1 else line).rstrip("\r\n")
    except (OSError, EOFError) as err:
        raise unreadable(path, err, line_no + 1) from err


def read_bytes(path: str | Path) -> bytes:
    """The whole file, decompressed; InputFormatError naming the line where corrupt or truncated gzip data starts."""
    chunks: list[bytes] = []
    try:
        with open_binary(path) as handle:
            while chunk := handle.read(1 << 20):
                chunks.append(chunk)
    except (OSError, EOFError) as err:
        line = sum(chunk.count(b"\n") for chunk in chunks) + 1
        raise unreadable(path, err, line) from err
    return b"".join(chunks)


def read_head(path: str | Path, size: int = 65536) -> str:
    """The first `size` bytes (decompressed, BOM dropped) as text, undecodable bytes replaced: for sniffing.

    Corrupt gzip data ends the head early; the reader then reports it with its line.
    """
    data = b""
    with open_binary(path) as handle:
        try:
            while len(data) < size and (chunk := handle.read(4096)):
                data += chunk
        except (OSError, EOFError):
            pass
    return data[:size].decode("utf-8", errors="replace").lstrip(UTF8_BOM)
