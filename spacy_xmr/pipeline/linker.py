"""`xmr_linker`: candidate concepts for each entity from a hierarchical XMR model, in one
vectorised model call per batch of docs.

No `from __future__ import annotations` here: spaCy validates `initialize()` settings with
pydantic, which needs the annotations as real types.
"""
import contextlib
from pathlib import Path
from typing import Callable, Iterable, List, Optional, Union

from spacy.tokens import Span

from ..corpus import Mention, gold_linked_mentions
from ..errors import ConfigError, SpacyXmrError
from ..ontology import read_ontology_file
from .base import CandidatePipe, Candidates
from .mentions import mentions_of_docs


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
        **shared,
    ):
        """`shared`: the settings of `CandidatePipe` (model, top_k, threshold, labels, overwrite, spans_key, scorer)."""
        super().__init__(vocab, name, batch_size=batch_size, **shared)
        self.beam_size = beam_size
        self.resolve_abbreviations = resolve_abbreviations

    @property
    def cfg(self) -> dict:
        return {**super().cfg, "beam_size": self.beam_size, "resolve_abbreviations": self.resolve_abbreviations}

    def _no_model_message(self) -> str:
        return (
            f"{super()._no_model_message()} (as written by `spacy-xmr train-xmr`), or give "
            f"[initialize.components.{self.name}] ontology = PATH and train_corpus = PATH and run nlp.initialize()"
        )

    def _load_model(self, directory: Path):
        from ..xmr import XMRModel

        return XMRModel.load(directory)

    def _rank(self, mentions: list[Mention], spans: list[Span]) -> list[Candidates]:
        return self.get_model().predict_mentions(
            mentions, top_k=self.top_k, beam_size=self.beam_size, resolve_abbreviations=self.resolve_abbreviations
        )

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
        without them, from the gold entities (with `kb_id_`) of `get_examples()`.
        """
        if ontology is None:
            if not self.has_model:
                raise ConfigError(self._no_model_message())
            self.get_model()  # load now so that a bad directory fails at initialize, not mid-pipeline
            return
        from ..xmr import XMRConfig, XMRModel

        with self._setting_errors("ontology", ontology):
            concepts = read_ontology_file(ontology)
        with self._setting_errors("train_corpus", train_corpus):
            mentions = gold_linked_mentions(_as_list(train_corpus)) if train_corpus else self._example_mentions(get_examples)
        config = read_xmr_config(Path(xmr_config), XMRConfig, self.name) if xmr_config else None
        self._model = XMRModel.train(concepts, mentions, config=config, progress=True)

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
        return [mention for mention in mentions if mention.gold_ids]


def read_xmr_config(path: Path, config_class, component: str):
    """An XMR training config saved as JSON."""
    if not path.exists():
        raise ConfigError(f"[initialize.components.{component}] xmr_config = {str(path)!r}: file not found")
    return config_class.from_json(path)


def _as_list(paths: Union[str, Path, List[Union[str, Path]]]) -> list:
    return [paths] if isinstance(paths, (str, Path)) else list(paths)
