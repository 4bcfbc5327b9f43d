"""A mention in its context: the unit that candidate generation and reranking work on."""
from __future__ import annotations

from dataclasses import dataclass, field


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
    def sentence_text(self) -> str:
        return self.document_text[self.sentence_start:self.sentence_end]

    @property
    def passage_text(self) -> str:
        return self.document_text[self.passage_start:self.passage_end]
