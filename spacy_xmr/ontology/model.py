"""The ontology: concepts with names, synonyms and alt ids, and its one on-disk format.

On disk an ontology is a gzipped JSON-lines file (`.jsonl.gz`): a header line
`{"format": "spacy-xmr-ontology", "version": 1, "name": ..., "n_concepts": N}` and then one
concept per line with the fields of `Concept`. Plain JSON, so any tool can write one.
"""
from __future__ import annotations

import gzip
import json
from array import array
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from ..atomic import atomic_open
from ..errors import InputFormatError, SpacyXmrError
from ..gzip_files import text_lines

FORMAT_NAME = "spacy-xmr-ontology"
FORMAT_VERSION = 1


@dataclass
class Concept:
    id: str
    name: str
    synonyms: list[str] = field(default_factory=list)
    alt_ids: list[str] = field(default_factory=list)
    definition: str = ""
    types: list[str] = field(default_factory=list)  # semantic types or tree numbers
    parents: list[str] = field(default_factory=list)

    def __post_init__(self):
        for list_field in LIST_FIELDS:  # a string would be iterated as its letters: "HF" gives the aliases H and F
            if isinstance(getattr(self, list_field), str):
                raise SpacyXmrError(f"concept {self.id!r}: {list_field} must be a list of strings, not the string "
                                    f"{getattr(self, list_field)!r}")

    @property
    def aliases(self) -> list[str]:
        """The name followed by the synonyms, without repeats (case-sensitive)."""
        seen: dict[str, None] = {self.name: None}
        for synonym in self.synonyms:
            seen.setdefault(synonym, None)
        return [alias for alias in seen if alias]


LIST_FIELDS = ("synonyms", "alt_ids", "types", "parents")


class DuplicateConceptId(SpacyXmrError):
    """Two concepts of one ontology share an id; `concept_id` lets a reader name the lines."""

    def __init__(self, ontology_name: str, concept_id: str):
        super().__init__(f"ontology {ontology_name!r}: concept id {concept_id!r} appears twice")
        self.concept_id = concept_id


class Ontology:
    """Concepts indexed by id, alt id and lower-cased alias."""

    def __init__(self, concepts: Iterable[Concept], name: str = ""):
        self.name = name
        self._concepts: dict[str, Concept] = {}
        for concept in concepts:
            if concept.id in self._concepts:
                raise DuplicateConceptId(name, concept.id)
            self._concepts[concept.id] = concept
        self._alt_to_id: dict[str, str] = {}
        for concept in self._concepts.values():
            for alt in concept.alt_ids:
                if alt not in self._concepts:
                    self._alt_to_id.setdefault(alt, concept.id)
        self._alias_index: dict[str, list[str]] | None = None

    def __len__(self) -> int:
        return len(self._concepts)

    def __iter__(self) -> Iterator[Concept]:
        return iter(self._concepts.values())

    def __contains__(self, concept_id: str) -> bool:
        return concept_id in self._concepts

    def __getitem__(self, concept_id: str) -> Concept:
        return self._concepts[concept_id]

    @property
    def ids(self) -> list[str]:
        return list(self._concepts)

    def get(self, concept_id: str) -> Concept | None:
        """The concept with this id or alt id, or None."""
        resolved = self.resolve(concept_id)
        return self._concepts.get(resolved) if resolved else None

    def resolve(self, concept_id: str) -> str | None:
        """Map an id or alt id to the id of its concept; None when the ontology has neither."""
        if concept_id in self._concepts:
            return concept_id
        return self._alt_to_id.get(concept_id)

    def ids_for_alias(self, alias: str) -> list[str]:
        """Ids of the concepts that have `alias` as name or synonym (compared lower-cased)."""
        if self._alias_index is None:
            index: dict[str, list[str]] = {}
            for concept in self._concepts.values():
                for text in concept.aliases:
                    ids = index.setdefault(text.lower(), [])
                    if concept.id not in ids:
                        ids.append(concept.id)
            self._alias_index = index
        return list(self._alias_index.get(alias.lower(), []))

    def aliases(self) -> Iterator[tuple[str, str]]:
        """Every (alias, concept id) pair: names first within each concept."""
        for concept in self._concepts.values():
            for alias in concept.aliases:
                yield alias, concept.id

    def n_aliases(self) -> int:
        return sum(len(c.aliases) for c in self._concepts.values())

    # ---- disk format -------------------------------------------------------------------
    def to_disk(self, path: str | Path) -> None:
        """Write the ontology atomically as gzipped JSON lines."""
        path = Path(path)
        header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "name": self.name, "n_concepts": len(self)}
        with atomic_open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write((json.dumps(header) + "\n").encode("utf8"))
            for concept in self._concepts.values():
                gz.write((json.dumps(asdict(concept), ensure_ascii=False) + "\n").encode("utf8"))

    @classmethod
    def from_disk(cls, path: str | Path) -> "Ontology":
        """Read a file written by `to_disk`; errors name the file and line."""
        path = Path(path)
        if not path.exists():
            raise InputFormatError(path, "ontology file not found")
        lines = text_lines(path)
        _, header_line = next(lines, (1, ""))
        if not header_line.strip():
            raise InputFormatError(path, "empty file: expected an ontology header line", line=1)
        try:
            header = _parse_json(path, header_line, 1)
        except InputFormatError:
            header = {}
        if header.get("format") != FORMAT_NAME:
            raise InputFormatError(path, f"not a spacy-xmr ontology (header format {header.get('format')!r}); "
                                         "read_ontology_file also reads MEDIC's CTD_diseases.tsv(.gz)", 1)
        if header.get("version") != FORMAT_VERSION:
            raise InputFormatError(
                path, f"ontology format version {header.get('version')!r}; this spacy-xmr reads {FORMAT_VERSION}", 1
            )
        concepts: list[Concept] = []
        line_numbers = array("L")
        for line_no, line in lines:
            if line.strip():
                concepts.append(_concept_from_record(path, _parse_json(path, line, line_no), line_no))
                line_numbers.append(line_no)
        if header.get("n_concepts") not in (None, len(concepts)):
            raise InputFormatError(path, f"header promises {header['n_concepts']} concepts, file holds {len(concepts)} (truncated?)")
        return ontology_of_file(path, concepts, line_numbers, header.get("name", ""))


def ontology_of_file(path: Path, concepts: list[Concept], line_numbers: Sequence[int], name: str) -> Ontology:
    """The ontology of the concepts read from `path`, concept i from line `line_numbers[i]`: a repeated id is
    reported with both of its lines."""
    try:
        return Ontology(concepts, name=name)
    except DuplicateConceptId as err:
        first, again = [line for concept, line in zip(concepts, line_numbers) if concept.id == err.concept_id][:2]
        raise InputFormatError(path, f"concept id {err.concept_id!r} already on line {first}", again) from None


def _parse_json(path: Path, line: str, line_no: int) -> dict:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise InputFormatError(path, f"invalid JSON: {err.msg}", line=line_no) from err
    if not isinstance(record, dict):
        raise InputFormatError(path, "expected a JSON object", line=line_no)
    return record


def _concept_from_record(path: Path, record: dict, line_no: int) -> Concept:
    """The line's concept; each field of the wrong type is an error (a string where a list belongs would be read
    as its letters)."""
    for key in ("id", "name"):
        if key not in record:
            raise InputFormatError(path, f"concept field {key!r} is missing", line=line_no)
        if not isinstance(record[key], str) or not record[key].strip():
            raise InputFormatError(path, f"concept field {key!r} must be a non-empty string, found {record[key]!r}", line=line_no)
    unknown = set(record) - set(Concept.__dataclass_fields__)
    if unknown:
        raise InputFormatError(path, f"unknown concept fields {sorted(unknown)}", line=line_no)
    if not isinstance(record.get("definition", ""), str):
        raise InputFormatError(path, f"concept field 'definition' must be a string, found {record['definition']!r}", line=line_no)
    for key in LIST_FIELDS:
        value = record.get(key, [])
        if not isinstance(value, list):
            raise InputFormatError(path, f"concept field {key!r} must be a list of strings, found {value!r}", line=line_no)
        wrong = [item for item in value if not isinstance(item, str)]
        if wrong:
            raise InputFormatError(path, f"concept field {key!r} must be a list of strings, found {wrong[0]!r} in it", line=line_no)
    return Concept(**record)
