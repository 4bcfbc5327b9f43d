"""Mutations of corpus files for the reader fuzz suite (tests/test_fuzz_readers.py, benchmarks/fuzz_readers.py).

Seeds are small synthetic files of every shape the readers accept, plus, when ../shared/data is present,
slices of the real NCBI Disease and BC5CDR files in PubTator and (converted) BioC XML and BioC JSON. A
mutation takes the seed's bytes, its format and a seeded `random.Random`; `check_file` states the contract:
`read_corpus` loads the file or raises InputFormatError naming the file and a line, nothing else, and a
loaded file gives mentions whose text is the document text at their offsets.
"""
from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path
from typing import Callable

from bioc import biocjson, biocxml

from spacy_xmr.corpus import iter_mentions, read_corpus, read_pubtator
from spacy_xmr.errors import InputFormatError, SpacyXmrError

from test_corpus_bioc import sample_collection
from test_corpus_formats import pubtator3_json_document
from test_corpus_pubtator import GOOD, pubtator3_export

PUBTATOR, BIOC_XML, BIOC_JSON = "PubTator", "BioC XML", "BioC JSON"
PASSAGE_RECORDS = "".join(
    f"PMC9|t|{text}\nPMC9|a|\nPMC9\t{text.index('aspirin')}\t{text.index('aspirin') + 7}\taspirin\tChemical\tMESH:D001241\n\n"
    for text in ("Aspirin trial: aspirin helps.", "Methods: aspirin was given.")
)


def synthetic_seeds() -> dict[str, tuple[str, bytes]]:
    """name → (format, bytes) for the synthetic seeds (no shared data needed)."""
    return {
        "pubtator": (PUBTATOR, (GOOD + "\n" + GOOD.replace("1|", "2|").replace("1\t", "2\t")).encode("utf8")),
        "pubtator3_multi_type": (PUBTATOR, pubtator3_export().encode("utf8")),
        "passage_records": (PUBTATOR, PASSAGE_RECORDS.encode("utf8")),
        "bioc_xml": (BIOC_XML, biocxml.dumps(sample_collection()).encode("utf8")),
        "bioc_json": (BIOC_JSON, biocjson.dumps(sample_collection()).encode("utf8")),
        "pubtator3_json": (BIOC_JSON, "\n".join(json.dumps(pubtator3_json_document(i)) for i in "12").encode("utf8")),
    }


def real_seeds(ncbi_file: Path, bc5cdr_file: Path, tmp_dir: Path, n_documents: int = 4) -> dict[str, tuple[str, bytes]]:
    """The first `n_documents` of real NCBI Disease and BC5CDR files, as PubTator and as BioC XML / JSON."""
    seeds = {}
    for name, path in (("ncbi", ncbi_file), ("bc5cdr", bc5cdr_file)):
        blocks = path.read_text(encoding="utf8").split("\n\n")[:n_documents]
        text = "\n\n".join(blocks) + "\n"
        seeds[f"{name}_pubtator"] = (PUBTATOR, text.encode("utf8"))
        sliced = tmp_dir / f"{name}.txt"
        sliced.write_text(text, encoding="utf8")
        collection = read_pubtator(sliced)
        seeds[f"{name}_bioc_xml"] = (BIOC_XML, biocxml.dumps(collection).encode("utf8"))
        seeds[f"{name}_bioc_json"] = (BIOC_JSON, biocjson.dumps(collection).encode("utf8"))
    return seeds


def _truncate(data: bytes, fmt: str, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def _byte_flips(data: bytes, fmt: str, rng: random.Random) -> bytes:
    flipped = bytearray(data)
    for _ in range(rng.randint(1, 5)):
        if flipped:
            flipped[rng.randrange(len(flipped))] ^= rng.randint(1, 255)
    return bytes(flipped)


def _wrong_offsets(data: bytes, fmt: str, rng: random.Random) -> bytes:
    numbers = list(re.finditer(rb"\d+", data))
    if not numbers:
        return data
    number = rng.choice(numbers)
    value = rng.choice([-1, 0, 1, int(number.group()) + rng.randint(-3, 3), 10**rng.randint(3, 30)])
    return data[: number.start()] + str(value).encode() + data[number.end():]


def _wrong_columns(data: bytes, fmt: str, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    index = rng.randrange(len(lines))
    cells = lines[index].split(b"\t")
    if len(cells) > 1 and rng.random() < 0.5:
        del cells[rng.randrange(len(cells))]
    else:
        cells.insert(rng.randrange(len(cells) + 1), rng.choice([b"", b"x", b"12", b"\t"]))
    lines[index] = b"\t".join(cells)
    return b"\n".join(lines)


def _huge_field(data: bytes, fmt: str, rng: random.Random) -> bytes:
    position = rng.randrange(len(data) + 1)
    return data[:position] + rng.choice([b"x", b"a ", b"\xc3\xa9"]) * rng.choice([10_000, 100_000, 400_000]) + data[position:]


def _non_utf8(data: bytes, fmt: str, rng: random.Random) -> bytes:
    position = rng.randrange(len(data) + 1)
    return data[:position] + rng.choice([b"\xff", b"\xc3\x28", b"\x80\x80", b"\xed\xa0\x80", b"\xe9t\xe9"]) + data[position:]


def _empty(data: bytes, fmt: str, rng: random.Random) -> bytes:
    return rng.choice([b"", b"\n", b"  \n\n\t\n", b"\xef\xbb\xbf"])


def _bom(data: bytes, fmt: str, rng: random.Random) -> bytes:
    return rng.choice([b"\xef\xbb\xbf", b"\xff\xfe", b"\xef\xbb\xbf\xef\xbb\xbf"]) + data


def _crlf(data: bytes, fmt: str, rng: random.Random) -> bytes:
    return data.replace(b"\n", rng.choice([b"\r\n", b"\r", b"\n\r"]))


def _duplicate_ids(data: bytes, fmt: str, rng: random.Random) -> bytes:
    """Repeat one document (identical, or with its first letter changed) somewhere in the file."""
    if fmt == BIOC_XML:
        units = list(re.finditer(rb"<document>.*?</document>", data, re.DOTALL))
    elif fmt == BIOC_JSON:
        units = list(re.finditer(rb'\{"id": "[^"]*", "infons".*?"relations": \[[^\]]*\]\}', data, re.DOTALL))
    else:
        units = list(re.finditer(rb"(?:^|\n\n)[^\n]+\|t\|.*?(?=\n\n|$)", data, re.DOTALL))
    if not units:
        return data + data
    unit = rng.choice(units).group().strip(b"\n")
    if rng.random() < 0.5:
        unit = re.sub(rb"[a-z]", b"Q", unit, count=1)
    separator = {BIOC_XML: b"", BIOC_JSON: b", "}.get(fmt, b"\n\n")
    position = rng.choice(units).end()
    return data[:position] + separator + unit + data[position:]


def _gzipped(data: bytes, fmt: str, rng: random.Random) -> bytes:
    """A gzipped copy of the file, itself mutated half of the time, and truncated a quarter of the time."""
    inner = rng.choice(BASIC_MUTATIONS)(data, fmt, rng) if rng.random() < 0.5 else data
    packed = gzip.compress(inner, mtime=0)
    return packed[: rng.randrange(2, len(packed))] if rng.random() < 0.25 else packed


def _combined(data: bytes, fmt: str, rng: random.Random) -> bytes:
    for mutation in rng.sample(BASIC_MUTATIONS, rng.randint(2, 3)):
        data = mutation(data, fmt, rng)
    return data


BASIC_MUTATIONS: list[Callable[[bytes, str, random.Random], bytes]] = [
    _truncate, _byte_flips, _wrong_offsets, _wrong_columns, _huge_field, _non_utf8, _empty, _bom, _crlf, _duplicate_ids,
]
MUTATIONS: dict[str, Callable[[bytes, str, random.Random], bytes]] = {
    "truncation": _truncate, "byte flips": _byte_flips, "wrong offsets": _wrong_offsets,
    "wrong column counts": _wrong_columns, "huge fields": _huge_field, "non-UTF-8 bytes": _non_utf8,
    "empty files": _empty, "BOMs": _bom, "CRLF / CR line ends": _crlf, "duplicated document ids": _duplicate_ids,
    "gzip (+ truncated gzip)": _gzipped, "2-3 combined": _combined,
}


LOADED, INPUT_ERROR, FAILURE = "loaded", "input error", "failure"


def check_file(path: Path) -> tuple[str, str]:
    """(LOADED or INPUT_ERROR, "") when the file loads with consistent mentions or raises InputFormatError
    naming it and a line; otherwise (FAILURE, what broke the contract)."""
    try:
        collection = read_corpus(path)
    except InputFormatError as err:
        if err.path != path or err.line is None or not str(err).startswith(f"{path}, line {err.line}: "):
            return FAILURE, f"InputFormatError without file and line: {err}"
        return INPUT_ERROR, ""
    except Exception as err:  # noqa: BLE001 - the contract under test: no other exception escapes
        return FAILURE, f"{type(err).__name__}: {str(err)[:300]}"
    try:
        mentions = list(iter_mentions(collection))
    except SpacyXmrError:
        return LOADED, ""  # valid BioC but an annotation without location is selected: a documented error
    except Exception as err:  # noqa: BLE001
        return FAILURE, f"loaded, then iter_mentions raised {type(err).__name__}: {str(err)[:300]}"
    for mention in mentions:
        if mention.end - mention.start == len(mention.text) and mention.document_text[mention.start:mention.end] != mention.text:
            return FAILURE, f"loaded, but mention {mention.text[:40]!r} differs from the text at {mention.start}-{mention.end}"
    return LOADED, ""
