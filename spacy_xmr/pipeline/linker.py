"""`xmr_linker`: candidate concepts for each entity from a hierarchical XMR model, in one
vectorised model call per batch of docs.

No `from __future__ import annotations` here: spaCy validates `initialize()` settings with
pydantic, which needs the annotations as real types.
"""
import contextlib
import logging
from pathlib import Path
from typing import Callable, Iterable, List, Optional, Union

from spacy.tokens import Span

from ..corpus import Mention, gold_linked_mentions
from ..corpus.mention import Candidates
from ..corpus.repeats import warn_of_repeats
from ..errors import ConfigError, SpacyXmrError
from ..ontology import read_ontology_file
from ..phase_log import phases_shown
from .base import CandidatePipe, RankedCandidates
from .mentions import mentions_of_docs, mentions_of_spans
from .shared_evidence import SharedEvidence

logger = logging.getLogger(__name__)
DEFAULT_THRESHOLD = 0.5  # on the confidence: a link below it is more likely wrong than right, so the entity is NIL


class XMRLinker(CandidatePipe):
    """Links `doc.ents` (or `doc.spans[spans_key]`) to an ontology with an `XMRModel`."""

    def __init__(
        self,
        vocab,
        name: str = "xmr_linker",
        *,
        beam_size: int = 10,
        resolve_abbreviations: bool = True,
        batch_size: int = 256,
        prediction_settings: Optional[dict] = None,
        **shared,
    ):
        """`prediction_settings`: what the model's prediction uses in place of its trained values (the keys of
        `PredictionSettings` that are set, see `checked_prediction_settings`); `shared`: the settings of
        `CandidatePipe` (model, top_k, threshold, labels, overwrite, spans_key, scorer)."""
        super().__init__(vocab, name, batch_size=batch_size, **shared)
        self.beam_size = beam_size
        self.resolve_abbreviations = resolve_abbreviations
        self.prediction_settings = dict(prediction_settings or {})
        self.shared_evidence: Optional[SharedEvidence] = None  # set by a ranker that reads the linker's evidence

    @property
    def cfg(self) -> dict:
        return {**super().cfg, "beam_size": self.beam_size, "resolve_abbreviations": self.resolve_abbreviations,
                **self.prediction_settings}

    def _no_model_message(self) -> str:
        return (
            f"{super()._no_model_message()} (as written by `spacy-xmr train-xmr`), or give "
            f"[initialize.components.{self.name}] ontology = PATH (train_corpus = PATH optional) and run nlp.initialize() "
            f"(in Python: nlp.config[\"initialize\"][\"components\"][\"{self.name}\"] = {{\"ontology\": PATH}})"
        )

    def _load_model(self, directory: Path):
        from ..xmr import XMRModel

        return self._checked_calibration(XMRModel.load(directory, **self.prediction_settings), str(directory))

    def _checked_calibration(self, model, source: str):
        """The model, after warning when the threshold is set on a confidence that the model cannot give."""
        if model.calibrator is None and self.threshold is not None and self.threshold_on == "confidence":
            logger.warning("'%s': the XMR model %s has no calibration (trained on names alone, on too few right and wrong "
                           "mentions to fit one, or by spacy-xmr before 0.6), so its entities get no confidence and the "
                           "threshold %s makes none NIL; retrain it, or set "
                           "[components.%s] threshold_on = \"score\" to threshold the raw scores", self.name, source, self.threshold,
                           self.name)
        return model

    def share_evidence(self, capacity: int) -> SharedEvidence:
        """Keep each batch's per-channel evidence for a component that follows (`xmr_ranker`); see `SharedEvidence`."""
        if self.shared_evidence is None:
            self.shared_evidence = SharedEvidence(capacity)
        return self.shared_evidence

    def _rank(self, spans: list[Span]) -> list[Candidates]:
        """The model's rankings, each with its confidence when the model is calibrated."""
        model, mentions = self.get_model(), mentions_of_spans(spans)
        if model.calibrator is None and self.shared_evidence is None:
            return model.predict_mentions(mentions, top_k=self.top_k, beam_size=self.beam_size,
                                          resolve_abbreviations=self.resolve_abbreviations)
        evidence, confidences = model.linked(mentions, top_k=self.top_k, beam_size=self.beam_size,
                                             resolve_abbreviations=self.resolve_abbreviations)
        if self.shared_evidence is not None:
            self.shared_evidence.keep(spans, mentions, evidence, self.top_k)
        return [RankedCandidates([(c.concept_id, c.score) for c in candidates], confidence)
                for candidates, confidence in zip(evidence, confidences or [None] * len(evidence))]

    def explain(self, span: Span, top_k: int = 5):
        """Why the span's top candidates rank as they do: each channel's evidence (`spacy_xmr.xmr.explain`), read
        from the span's text in its document (with the abbreviations it defines); `.text()`, `.to_dict()`, `.html()`."""
        from ..xmr.explain import explain_mentions

        _, mentions = mentions_of_docs([span.doc], self.spans_key, list(self._labels))
        index = next((i for i, m in enumerate(mentions) if (m.start, m.end) == (span.start_char, span.end_char)), None)
        if index is None:
            raise ValueError(f"'{self.name}' does not link the span {span.text!r}: it is not among the spans it reads "
                             f"(doc.ents{'' if self.spans_key is None else f' / doc.spans[{self.spans_key!r}]'}, labels {self.labels or 'any'})")
        return explain_mentions(self.get_model(), mentions, top_k=top_k, beam_size=self.beam_size,  # the document channel reads them all
                                resolve_abbreviations=self.resolve_abbreviations)[index]

    def initialize(
        self,
        get_examples: Optional[Callable[[], Iterable]] = None,
        *,
        nlp=None,
        ontology: Optional[Union[str, Path]] = None,
        train_corpus: Optional[Union[str, Path, List[Union[str, Path]]]] = None,
        xmr_config: Optional[Union[str, Path]] = None,
    ) -> None:
        """Fit the XMR model when `ontology` is given; otherwise check that the configured model loads.

        Training mentions come from the `train_corpus` files (any format `read_corpus` reads) or,
        without them, from the gold entities (with `kb_id_`) of `get_examples()`. A `model` folder named in the
        component's config and an `ontology` to fit one from are refused together: which one to keep is the user's call.
        """
        if ontology is None:
            if not self.has_model:
                raise ConfigError(self._no_model_message())
            self.get_model()  # load now so that a bad directory fails at initialize, not mid-pipeline
            return
        if self.model_path is not None:
            raise ConfigError(f"[components.{self.name}] model = {str(self.model_path)!r} and [initialize.components.{self.name}] "
                              f"ontology = {str(ontology)!r}: initialize() would replace that model by one fitted from the "
                              "ontology; set model = null to fit one, or drop the [initialize] ontology to keep the model")
        from ..xmr import XMRConfig, XMRModel

        with self._setting_errors("ontology", ontology):
            concepts = read_ontology_file(ontology)
        with self._setting_errors("train_corpus", train_corpus):
            mentions = gold_linked_mentions(_as_list(train_corpus)) if train_corpus else self._example_mentions(get_examples)
        with self._setting_errors("xmr_config", xmr_config):
            config = XMRConfig.from_json(Path(xmr_config)) if xmr_config else None
        with phases_shown(unless_configured=True):  # fitting takes minutes to hours: spacy train shows its phases
            model = XMRModel.train(concepts, mentions, config=config, progress=True).configure(**self.prediction_settings)
        self._model = self._checked_calibration(model, "trained in initialize()")

    @contextlib.contextmanager
    def _setting_errors(self, key: str, value):
        """Re-raise a bad input file as a ConfigError that names the initialize setting it came from."""
        try:
            yield
        except SpacyXmrError as err:
            raise ConfigError(f"[initialize.components.{self.name}] {key} = {str(value)!r}: {err}") from err

    def _example_mentions(self, get_examples) -> list[Mention]:
        if get_examples is None:
            return []
        references = [example.reference for example in get_examples()]
        _, mentions = mentions_of_docs(references, self.spans_key, list(self.labels))
        linked = [mention for mention in mentions if mention.gold_ids]
        warn_of_repeats([("the training examples", linked)])
        return linked


def checked_prediction_settings(component: str, **settings) -> dict:
    """The component's prediction settings that are set (not null, not empty), checked as `XMRModel.load` checks them;
    a bad one raises ConfigError naming the component and the key."""
    from ..xmr import PredictionSettings

    given = {key: value for key, value in settings.items() if value not in (None, {})}
    try:
        PredictionSettings.from_dict(given)
    except ConfigError as err:
        raise ConfigError(f"[components.{component}] {err}") from err
    return given


def _as_list(paths: Union[str, Path, List[Union[str, Path]]]) -> list:
    return [paths] if isinstance(paths, (str, Path)) else list(paths)
