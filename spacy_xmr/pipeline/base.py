"""What the linker and the reranker share: span selection, batching, the NIL decision, annotations,
and serialisation of their model directory.

Subclasses say how to rank a batch of spans (`_rank`), and how to load and save their model.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable, Iterable, Iterator

import srsly
from spacy import util
from spacy.pipeline import Pipe
from spacy.tokens import Doc, Span, SpanGroup

from ..corpus import NIL  # spaCy's sentinel for "no concept", shared with Scorer.score_links
from ..corpus.mention import Candidates
from ..errors import ConfigError, ModelLoadError, ModelOutputError
from ..model_kinds import MODEL_DIR
from .collector import collector_paused
from .extensions import get_candidates, register_extensions, set_candidates, set_confidence
from .mentions import spans_to_link
from .model_files import copy_directory, directory_to_files, files_to_directory

THRESHOLD_ON = ("confidence", "score")  # what `threshold` compares: the calibrated confidence, or the top raw score


class RankedCandidates(list):
    """A span's candidates (a `Candidates` list, best first) with the stage's calibrated confidence that the first
    is right (None: the stage or its model gives none)."""

    def __init__(self, candidates: Iterable[tuple[str, float]] = (), confidence: float | None = None):
        super().__init__(candidates)
        self.confidence = confidence


def clean_candidates(candidates: Iterable[tuple[str, float]], top_k: int) -> Candidates:
    """Plain (str, float) pairs, best first, each id once (its best score), at most `top_k`."""
    best: dict[str, float] = {}
    for concept_id, score in candidates:
        concept_id, score = str(concept_id), float(score)
        if concept_id not in best or score > best[concept_id]:
            best[concept_id] = score
    return sorted(best.items(), key=lambda pair: -pair[1])[:top_k]


class CandidatePipe(Pipe):
    """A component that writes `Span._.xmr_candidates` and `kb_id_` for the spans it links."""

    def __init__(
        self,
        vocab,
        name: str,
        *,
        model: str | Path | None = None,
        top_k: int = 10,
        threshold: float | None = None,
        threshold_on: str = "score",
        labels: Iterable[str] = (),
        overwrite: bool = True,
        spans_key: str | None = None,
        batch_size: int = 256,
        scorer: Callable | None = None,
    ):
        self.vocab = vocab
        self.name = name
        self.model_path = Path(model) if model else None
        self._model = None
        self.top_k = top_k
        self.threshold = threshold
        self.threshold_on = threshold_on
        self._labels = list(labels)
        self.overwrite = overwrite
        self.spans_key = spans_key
        self.batch_size = batch_size
        self.scorer = scorer
        register_extensions()

    # ---- settings ---------------------------------------------------------------------
    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self._labels)

    @property
    def cfg(self) -> dict:
        """Plain settings; `Pipe.score` passes them to the scorer as keyword arguments."""
        return {"top_k": self.top_k, "threshold": self.threshold, "threshold_on": self.threshold_on, "spans_key": self.spans_key,
                "overwrite": self.overwrite}

    # ---- the model --------------------------------------------------------------------
    def get_model(self):
        """The model, loaded from the `model` setting at first use.

        A method, not a property: spaCy probes components with `hasattr`, which must not load
        (or fail to load) a model.
        """
        if self._model is None:
            if self.model_path is None:
                raise ModelLoadError(self._no_model_message())
            self._model = self._load_model_dir(self.model_path)
        return self._model

    def use_model(self, model) -> None:
        """Use an already loaded model (e.g. one shared between worker processes) instead of reading `model`."""
        self._model = model

    @property
    def has_model(self) -> bool:
        return self._model is not None or self.model_path is not None

    def _no_model_message(self) -> str:
        return f"'{self.name}' has no model: set [components.{self.name}] model = DIR"

    def _load_model_dir(self, directory: Path):
        directory = Path(directory)
        if not directory.is_dir():
            raise ModelLoadError(
                f"'{self.name}': model directory {directory} does not exist "
                f"(set [components.{self.name}] model to a directory written by spacy-xmr)"
            )
        try:
            return self._load_model(directory)
        except ModelLoadError as err:
            raise ModelLoadError(f"'{self.name}': cannot load the model in {directory}: {err}") from err
        except ConfigError as err:  # a setting the model cannot run with (a device not there), not a broken folder
            raise ConfigError(f"'{self.name}': {err}") from err
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ModelLoadError(
                f"'{self.name}': the model directory {directory} is corrupt or incomplete ({type(err).__name__}: {err}); "
                "save it again or point the component to another one"
            ) from err

    def _load_model(self, directory: Path):
        raise NotImplementedError

    def _save_model(self, model, directory: Path) -> None:
        model.save(directory)  # both model classes write their directory atomically

    def concept_name(self, concept_id: str) -> str | None:
        """Display name of a concept (its id or alt id), or None when the ontology has no such id."""
        if concept_id == NIL:
            return None
        concept = self.get_model().ontology.get(concept_id)
        return concept.name if concept is not None else None

    def describe(self, span: Span) -> list[tuple[str, str | None, float]]:
        """The span's candidates as (id, display name, score), best first."""
        return [(cid, self.concept_name(cid), score) for cid, score in get_candidates(span)]

    def score(self, examples, **kwargs) -> dict:
        """`Pipe.score` with the model's ontology, so that alt ids count as their concept (as in `spacy-xmr evaluate`)."""
        return super().score(examples, ontology=self.get_model().ontology, **kwargs)

    # ---- prediction -------------------------------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        error_handler = self.get_error_handler()
        try:
            with collector_paused():
                self.set_annotations([doc], self.predict([doc]))
            return doc
        except Exception as err:  # spaCy's error-handler protocol: the handler decides
            error_handler(self.name, self, [doc], err)

    def pipe(self, stream: Iterable[Doc], *, batch_size: int | None = None) -> Iterator[Doc]:
        """Link the docs `batch_size` at a time, one model call per batch (with the garbage collector paused:
        `collector.py`).

        The component's `batch_size` caps the docs per call (memory); a smaller `batch_size`
        from `nlp.pipe` is honoured.
        """
        size = self.batch_size if batch_size is None else max(1, min(batch_size, self.batch_size))
        error_handler = self.get_error_handler()
        for docs in util.minibatch(stream, size=size):
            try:
                with collector_paused():
                    self.set_annotations(docs, self.predict(docs))
                yield from docs
            except Exception as err:
                error_handler(self.name, self, docs, err)

    def predict(self, docs: Iterable[Doc]) -> list[list[Candidates]]:
        """Candidates for each linked span of each doc; writes nothing."""
        docs = list(docs)
        self.get_model()  # fail on the first doc, not the first entity, when no model is configured
        spans_per_doc = [spans_to_link(doc, self.spans_key, list(self._labels)) for doc in docs]
        spans = [span for spans in spans_per_doc for span in spans]
        if not spans:
            return [[] for _ in docs]
        ranked = self._rank(spans)
        if len(ranked) != len(spans):
            raise ModelOutputError(f"'{self.name}': the model returned {len(ranked)} rankings for {len(spans)} mentions; "
                                   f"{type(self).__name__}._rank must return one ranking per span")
        flat = iter([RankedCandidates(clean_candidates(candidates, self.top_k), getattr(candidates, "confidence", None))
                     for candidates in ranked])
        return [[next(flat) for _ in spans] for spans in spans_per_doc]

    def _rank(self, spans: list[Span]) -> list[Candidates]:
        """One ranking per span (its mention: `mentions_of_spans`); a `RankedCandidates` ranking carries its confidence too."""
        raise NotImplementedError

    def decide(self, candidates: Candidates) -> str:
        """The concept for a span: the top candidate, or NIL when its confidence (`threshold_on = "confidence"`) or
        its score (`"score"`) is below the threshold; a ranking without a confidence is not thresholded on one."""
        if not candidates:
            return NIL
        concept_id, score = candidates[0]
        value = score if self.threshold_on == "score" else getattr(candidates, "confidence", None)
        if self.threshold is not None and value is not None and value < self.threshold:
            return NIL
        return concept_id

    def set_annotations(self, docs: Iterable[Doc], candidates: list[list[Candidates]]) -> None:
        """Write `_.xmr_candidates` and `kb_id_` (kept where already set unless `overwrite`)."""
        for doc, doc_candidates in zip(docs, candidates):
            spans = spans_to_link(doc, self.spans_key, list(self._labels))
            if len(spans) != len(doc_candidates):
                raise ValueError(
                    f"'{self.name}': {len(doc_candidates)} candidate lists for {len(spans)} spans; "
                    "were the entities changed between predict() and set_annotations()?"
                )
            kb_ids = []
            for span, span_candidates in zip(spans, doc_candidates):
                set_candidates(span, span_candidates)
                keep = span.kb_id_ and not self.overwrite
                confidence = getattr(span_candidates, "confidence", None)  # the top candidate's
                kept_other = keep and (not span_candidates or span_candidates[0][0] != span.kb_id_)
                set_confidence(span, None if kept_other else confidence)  # it speaks only of the top candidate
                kb_ids.append(span.kb_id_ if keep else self.decide(span_candidates))
            self._write_kb_ids(doc, spans, kb_ids)

    def _write_kb_ids(self, doc: Doc, spans: list[Span], kb_ids: list[str]) -> None:
        if not spans:
            return
        if self.spans_key is None:
            for span, kb_id in zip(spans, kb_ids):
                for token in span:  # doc.ents is rebuilt from the tokens' entity attributes
                    token.ent_kb_id_ = kb_id
            return
        # spans fetched from a SpanGroup are copies: rebuild the group with the new ids
        new_ids = {(span.start, span.end, span.label): kb_id for span, kb_id in zip(spans, kb_ids)}
        group = doc.spans[self.spans_key]
        doc.spans[self.spans_key] = SpanGroup(
            doc,
            name=group.name,
            attrs=dict(group.attrs),
            spans=[
                Span(doc, span.start, span.end, label=span.label,
                     kb_id=new_ids.get((span.start, span.end, span.label), span.kb_id), span_id=span.id)
                for span in group
            ],
        )

    # ---- serialisation ----------------------------------------------------------------
    def _write_model(self, directory: Path) -> None:
        """Save the loaded model, or copy the configured directory when it was never loaded."""
        if self._model is not None:
            self._save_model(self._model, Path(directory))
        elif self.model_path is not None:
            copy_directory(self._checked_model_path(), Path(directory))
        else:
            raise ModelLoadError(f"cannot save '{self.name}': {self._no_model_message()}")

    def _checked_model_path(self) -> Path:
        if not self.model_path.is_dir():
            raise ModelLoadError(f"'{self.name}': model directory {self.model_path} does not exist; nothing to save")
        return self.model_path

    def to_disk(self, path, *, exclude=tuple()) -> None:
        """Save the model folder, replaced atomically: a process killed meanwhile leaves the previous one.

        spaCy writes the rest of a pipeline folder (config.cfg, meta.json, tokenizer, vocab) in place; to make a
        whole pipeline save all-or-nothing, `with spacy_xmr.atomic.atomic_directory(path) as tmp: nlp.to_disk(tmp)`.
        """
        util.to_disk(path, {MODEL_DIR: self._write_model}, exclude)

    def from_disk(self, path, *, exclude=tuple()):
        def read_model(directory: Path) -> None:
            self._model = self._load_model_dir(directory)

        util.from_disk(path, {MODEL_DIR: read_model}, exclude)
        return self

    def to_bytes(self, *, exclude=tuple()) -> bytes:
        def model_bytes() -> bytes:
            with tempfile.TemporaryDirectory() as tmp:
                self._write_model(Path(tmp) / MODEL_DIR)
                return srsly.msgpack_dumps(directory_to_files(Path(tmp) / MODEL_DIR))

        return util.to_bytes({MODEL_DIR: model_bytes}, exclude)

    def from_bytes(self, bytes_data: bytes, *, exclude=tuple()):
        def read_model(data: bytes) -> None:
            with tempfile.TemporaryDirectory() as tmp:
                directory = Path(tmp) / MODEL_DIR
                files_to_directory(srsly.msgpack_loads(data), directory)
                self._model = self._load_model_dir(directory)

        util.from_bytes(bytes_data, {MODEL_DIR: read_model}, exclude)
        return self
