"""A JSON file read a value at a time, so that a reader can walk a large array without holding the file.

`json` has no incremental parser. `JsonText` keeps a window of the decoded text and hands out its tokens: the
brackets and commas of the containers a reader walks into, and whole values (`json.JSONDecoder.raw_decode`, C speed)
for the rest. A value cut by the window's end is decoded again once the window has grown (geometrically, so a
large value costs its size about twice). Errors raise InputFormatError naming the file and line.
"""
from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any, Iterator

from ..errors import InputFormatError
from ..gzip_files import open_binary, unreadable

CHUNK_BYTES = 1 << 20
_WHITESPACE = " \t\n\r"


class JsonText:
    """The JSON text of `path` (gzipped or not, UTF-8, a leading BOM dropped), read forward from its start."""

    def __init__(self, path: Path, format_name: str):
        self.path, self.format_name = path, format_name
        self._handle = open_binary(path)
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._decode_json = json.JSONDecoder().raw_decode
        self._text, self._position, self._eof = "", 0, False
        self._bytes_lines = 1  # line at the start of the next chunk of bytes, for undecodable bytes
        self._line, self._counted_to = 1, 0  # the line at `_counted_to` in `_text`

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> "JsonText":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def line(self) -> int:
        """The line of the next character."""
        return self._line_at(self._position)

    def _line_at(self, index: int) -> int:
        """The line of the window's character `index` (at or after the last one asked for)."""
        self._line += self._text.count("\n", self._counted_to, index)
        self._counted_to = index
        return self._line

    def error(self, message: str, line: int | None = None) -> InputFormatError:
        return InputFormatError(self.path, message, self.line if line is None else line)

    def peek(self) -> str:
        """The next character that is not whitespace (not consumed), or "" at the end of the file."""
        while True:
            while self._position < len(self._text) and self._text[self._position] in _WHITESPACE:
                self._position += 1
            if self._position < len(self._text) or not self._read_more(CHUNK_BYTES):
                return self._text[self._position: self._position + 1]

    def take(self, char: str) -> None:
        """Consume `char`, the next character that is not whitespace."""
        found = self.peek()
        if found != char:
            raise self._syntax_error(f"expecting {char!r}, found {found!r}" if found else f"truncated where {char!r} was expected")
        self._position += 1

    def elements(self, close: str) -> Iterator[None]:
        """After an opening bracket: yields once before each element (the caller reads it), consuming the commas and
        the closing `close`."""
        if self.peek() == close:
            self._position += 1
            return
        while True:
            yield
            found = self.peek()
            self._position += 1
            if found == close:
                return
            if found != ",":
                self._position -= 1
                raise self._syntax_error(f"expecting ',' or {close!r}, found {found!r}" if found else "truncated")

    def key(self) -> str:
        """An object's next key, and the colon after it."""
        if self.peek() != '"':
            raise self._syntax_error("expecting a property name enclosed in double quotes")
        key = self.value()
        self.take(":")
        return key

    def value(self) -> Any:
        """The next JSON value, decoded whole."""
        self.peek()
        while True:
            try:
                value, end = self._decode_json(self._text, self._position)
            except json.JSONDecodeError as err:
                if self._may_be_cut(err) and self._read_more(max(CHUNK_BYTES, len(self._text) - self._position)):
                    continue
                raise self.error(f"malformed or truncated JSON: {err.msg}", self._line_at(err.pos)) from None
            except RecursionError:
                raise self.error(f"JSON nested too deeply to be {self.format_name}") from None
            if end == len(self._text) and self._read_more(CHUNK_BYTES):
                continue  # a number, say, may go on in the next chunk
            self._position = end
            return value

    def _may_be_cut(self, err: json.JSONDecodeError) -> bool:
        """Whether the window's end, rather than the text, may be what the decoder stopped at: errors of a cut value
        lie at the end (an escape may be cut up to 6 characters before it), or name the string the end cut."""
        return err.pos >= len(self._text) - 6 or err.msg.startswith("Unterminated string")

    def _syntax_error(self, message: str) -> InputFormatError:
        return self.error(f"malformed or truncated JSON: {message}")

    def _read_more(self, size: int) -> bool:
        """Append at least `size` bytes' text to the window (dropping what was consumed); False at the end of the
        file."""
        if self._eof:
            return False
        try:
            data = self._handle.read(size)
        except (OSError, EOFError) as err:
            raise unreadable(self.path, err, self._bytes_lines) from err
        self._eof = not data
        try:
            text = self._decoder.decode(data, final=self._eof)
        except UnicodeDecodeError as err:
            raise self.error("not UTF-8 text; save the file as UTF-8", self._bytes_lines + data.count(b"\n", 0, err.start)) from None
        self._bytes_lines += data.count(b"\n")
        self._line_at(self._position)  # the lines of the part dropped below
        self._text = self._text[self._position:] + text
        self._position = self._counted_to = 0
        return bool(text) or not self._eof
