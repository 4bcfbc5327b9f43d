"""`StringTable`: a list of strings held in arrays that a model folder memory-maps, looked up by value without a dict.

Why: a model's example strings, word keys and concept ids are millions of strings at UMLS size. As Python lists and
dicts they cost every process that links with the model its own copy (about 90 MiB at 10^5 concepts, growing with
the ontology); as arrays mapped from the model folder, the processes of a node share one copy in the page cache.

Layout: the strings' UTF-8 bytes end to end (`data`) and where each starts (`offsets`, one more than strings); for
lookups, a 64-bit BLAKE2b hash per string sorted (`hashes`) with the row of each (`rows`, equal hashes by row). A
lookup hashes the text, finds its hash by binary search and compares the bytes, so a hash collision cannot confuse
two strings.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable, Iterator, Sequence, overload

import numpy as np

from ..errors import ModelLoadError
from .arrays import load_arrays, load_json, save_arrays, save_json, stored
from .runs import run_cells

TABLE_PARTS = ("data", "offsets", "hashes", "rows")
ITERATION_BLOCK = 65_536  # strings decoded at once when iterating


def bytes_hash(encoded: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(encoded, digest_size=8).digest(), "little")


def rows_with_hashes(sorted_hashes: np.ndarray, rows: np.ndarray, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(which of `hashes`, row) for every stored row whose hash (`sorted_hashes`, of the rows `rows`) equals it: a
    pair per match, usually none or one (more for a hash collision), each hash's rows in their stored order. The
    hashes are searched sorted, so the searches walk the table forward (12× faster than unsorted for 2.8M hashes)."""
    order = np.argsort(hashes, kind="stable")
    if not sorted_hashes.size:
        return order[:0], rows[:0]
    ordered = hashes[order]
    starts = np.searchsorted(sorted_hashes, ordered, side="left")
    found = np.flatnonzero(sorted_hashes[np.minimum(starts, sorted_hashes.size - 1)] == ordered)  # most are not stored
    counts = np.searchsorted(sorted_hashes, ordered[found], side="right") - starts[found]
    return np.repeat(order[found], counts), rows[run_cells(starts[found], counts)]


class StringTable(Sequence[str]):
    """Row i is the i-th string given; `rows_of` finds rows by value (the first row of a repeated string)."""

    def __init__(self, data: np.ndarray, offsets: np.ndarray, hashes: np.ndarray, rows: np.ndarray):
        self._data, self._offsets, self._hashes, self._rows = data, offsets, hashes, rows
        self._bytes = memoryview(data)  # slices of it compare with bytes without copying

    def __reduce__(self):
        """Pickled as its arrays (a memoryview does not pickle)."""
        return StringTable, (self._data, self._offsets, self._hashes, self._rows)

    @classmethod
    def of(cls, strings: Iterable[str]) -> "StringTable":
        encoded = [string.encode("utf8") for string in strings]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(item) for item in encoded], out=offsets[1:])
        data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        hashes = np.fromiter((bytes_hash(item) for item in encoded), dtype=np.uint64, count=len(encoded))
        rows = np.argsort(hashes, kind="stable")
        return cls(data, offsets, hashes[rows], rows.astype(np.int64))

    def __len__(self) -> int:
        return len(self._offsets) - 1

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.at(range(*index.indices(len(self))))
        index = int(index)
        if not -len(self) <= index < len(self):
            raise IndexError(f"string table index {index} out of range ({len(self)} strings)")
        return self.at([index % len(self)])[0]

    def __iter__(self) -> Iterator[str]:
        for lo in range(0, len(self), ITERATION_BLOCK):  # decoded a block at a time: one by one is slow for millions
            yield from self.at(range(lo, min(lo + ITERATION_BLOCK, len(self))))

    def __contains__(self, text: object) -> bool:
        return isinstance(text, str) and self.row(text) is not None

    def at(self, rows: Sequence[int] | np.ndarray) -> list[str]:
        """The strings of `rows` (faster than one by one)."""
        rows = np.asarray(rows, dtype=np.int64)
        data = self._bytes
        return [str(data[begin:end], "utf8") for begin, end in zip(self._offsets[rows].tolist(), self._offsets[rows + 1].tolist())]

    def rows_of(self, texts: Sequence[str]) -> np.ndarray:
        """The row of each text, -1 where the table does not hold it."""
        encoded = [text.encode("utf8") for text in texts]
        hashes = np.fromiter((bytes_hash(item) for item in encoded), dtype=np.uint64, count=len(encoded))
        text, candidates = rows_with_hashes(self._hashes, self._rows, hashes)
        begins, ends = self._offsets[candidates].tolist(), self._offsets[candidates + 1].tolist()
        found, data = np.full(len(encoded), -1, dtype=np.int64), self._bytes
        for i, row, begin, end in zip(text.tolist()[::-1], candidates.tolist()[::-1], begins[::-1], ends[::-1]):
            if data[begin:end] == encoded[i]:  # backwards: the first row of a repeated string is written last
                found[i] = row
        return found

    def row(self, text: str) -> int | None:
        """The row of `text`, or None."""
        row = int(self.rows_of([text])[0])
        return None if row < 0 else row

    def save(self, path: Path) -> None:
        save_arrays(path, data=self._data, offsets=self._offsets, hashes=self._hashes, rows=self._rows)

    @classmethod
    def load(cls, path: Path) -> "StringTable":
        """The table saved at `path`, memory-mapped; ModelLoadError when its arrays disagree."""
        arrays = load_arrays(path, *TABLE_PARTS)
        n = len(arrays["offsets"]) - 1
        if n < 0 or len(arrays["hashes"]) != n or len(arrays["rows"]) != n or (n and arrays["offsets"][-1] != len(arrays["data"])):
            raise ModelLoadError(f"{path}: a corrupt string table (its {', '.join(TABLE_PARTS)} disagree); save the model again")
        return cls(*(arrays[name] for name in TABLE_PARTS))


def load_strings(directory: Path, table_name: str, json_name: str) -> StringTable:
    """The strings a model folder keeps as the table `table_name`, or, in a folder saved before tables, as the JSON
    list `json_name` (read into memory)."""
    if stored(directory / table_name):
        return StringTable.load(directory / table_name)
    strings = load_json(directory / json_name)
    if not isinstance(strings, list) or not all(isinstance(string, str) for string in strings):
        raise ModelLoadError(f"{directory / json_name}: not a JSON list of strings; save or train the model again")
    return StringTable.of(strings)


def save_strings(directory: Path, strings: StringTable, table_name: str, json_name: str) -> None:
    """The table, and the same strings as a JSON list: readable, and what versions before tables load."""
    strings.save(directory / table_name)
    save_json(directory / json_name, list(strings))
