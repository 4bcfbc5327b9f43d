"""A mention in its context: the unit that candidate generation and reranking work on."""
from __future__ import annotations

from dataclasses import dataclass, field

Candidates = list[tuple[str, float]]  # a mention's ranked (concept id, score) pairs, best first


@dataclass
class Mention:
    """One annotated (or predicted) span, with offsets relative to the whole document text.

    `document_text` is the document's passages joined at their BioC offsets (gaps filled with
    spaces), so `document_text[start:end] == text` for every contiguous mention.
    """

    document_id: str
    annotation_id: str
    start: int
    end: int
    text: str
    type: str = ""
    gold_ids: list[str] = field(default_factory=list)  # normalised ids; several = lenient match on any
    passage_index: int = 0
    passage_start: int = 0  # document offset of the passage
    passage_end: int = 0
    sentence_start: int = 0  # document offsets of the sentence holding the mention
    sentence_end: int = 0
    document_text: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """(document id, annotation id): how candidates are stored for, and matched to, this annotation."""
        return (self.document_id, self.annotation_id)

    @property
    def location(self) -> tuple[str, int, int]:
        """(document id, start, end): how predictions made on other annotations (e.g. NER spans) are matched."""
        return (self.document_id, self.start, self.end)

    @property
    def sentence_text(self) -> str:
        return self.document_text[self.sentence_start:self.sentence_end]

    @property
    def passage_text(self) -> str:
        return self.document_text[self.passage_start:self.passage_end]
