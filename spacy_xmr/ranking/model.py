"""`LearnedRanker`: a LightGBM model (`RankerConfig.objective`) that reorders the XMR stage's candidates of each mention.

Saved as a directory of two text files, no pickle: `lightgbm.txt` (LightGBM's own model format) and `ranker.json`
(the format header, the config, the channel names the features were built from, the features in column order,
the training mentions' concept counts, which the prior feature reads, and the confidence's calibrator, see
`confidence.py`). lightgbm is imported on first use only. A ranker trained with a cross-encoder's scores keeps that
reranker in `cross_encoder/` (its own directory format: safetensors and JSON), and scores the lists with it.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..atomic import atomic_directory
from ..calibration import Calibrator
from ..corpus.mention import Candidates, Mention
from ..errors import ConfigError, ModelLoadError
from ..model_kinds import RANKER_HEADER, written_by, wrong_kind
from ..ontology import Ontology
from ..xmr.parallel import available_cpus
from .config import RankerConfig
from .confidence import FEATURE_NAMES as CONFIDENCE_FEATURES
from .confidence import confidences, list_probabilities, lists_by_length
from .features import ConceptFacts, feature_table, featurize

if TYPE_CHECKING:
    from ..rerank import Reranker
    from ..xmr import CandidateEvidence, XMRModel

FORMAT_NAME = "spacy-xmr-learned-ranker"
FORMAT_VERSION = 1
HEADER_FILE = RANKER_HEADER
BOOSTER_FILE = "lightgbm.txt"
CROSS_ENCODER_DIR = "cross_encoder"
MIN_ROWS_PER_THREAD = 2000  # candidate rows: a smaller batch is predicted faster on one thread


def import_lightgbm():
    try:
        import lightgbm
    except ImportError as err:
        raise ConfigError("the learned ranker needs LightGBM: pip install 'spacy-xmr[rank]' (or pip install lightgbm)") from err
    return lightgbm


class LearnedRanker:
    """Reorders each mention's top `config.top_k` XMR candidates by a LightGBM model over `features.py`.

    A candidate's new score is its share of the list's softmax over the ranker's raw scores (in (0, 1], summing to 1
    over the list); `calibrator` (None: trained with `calibration_folds = 0`) turns the ranker's evidence about its
    top candidate into the probability that it is right, which the component's `threshold` reads by default.
    """

    def __init__(self, config: RankerConfig, booster, channels: Sequence[str], concept_counts: dict[str, int],
                 with_cross_encoder: bool = False, stats: dict | None = None, calibrator: Calibrator | None = None,
                 cross_encoder: "Reranker | None" = None):
        self.config = config
        self.booster = booster
        self.channels = list(channels)
        self.concept_counts = dict(concept_counts)
        self.with_cross_encoder = with_cross_encoder
        self.stats = stats or {}
        self.calibrator = calibrator
        self.cross_encoder = cross_encoder  # scores the lists of a ranker trained `with_cross_encoder`
        self._facts: ConceptFacts | None = None

    @property
    def feature_names(self) -> list[str]:
        return [feature.name for feature in feature_table(self.channels, self.with_cross_encoder)]

    def facts(self, ontology: Ontology) -> ConceptFacts:
        """The concept facts of `ontology` (the XMR model's), kept while the ontology is the same."""
        if self._facts is None or self._facts.ontology is not ontology:
            self._facts = ConceptFacts(ontology, self.concept_counts)
        return self._facts

    def rank(self, mentions: Sequence[Mention], evidence: Sequence[Sequence["CandidateEvidence"]], ontology: Ontology,
             cross_encoder: Sequence[Sequence[float]] | None = None) -> list[Candidates]:
        """Each mention's candidates (from `XMRModel.channel_scores`), best first by the ranker, with their list shares."""
        return self.rank_with_confidence(mentions, evidence, ontology, cross_encoder)[0]

    def rank_with_confidence(self, mentions: Sequence[Mention], evidence: Sequence[Sequence["CandidateEvidence"]], ontology: Ontology,
                             cross_encoder: Sequence[Sequence[float]] | None = None) -> tuple[list[Candidates], list[float] | None]:
        """`rank`'s lists, and the probability that each list's first candidate is right (None without a calibrator).
        `cross_encoder`: a score per candidate; by default, a ranker trained with them asks its own `cross_encoder`."""
        if self.with_cross_encoder and cross_encoder is None:
            if self.cross_encoder is None:
                raise ConfigError("this ranker was trained with cross-encoder scores but holds no cross-encoder: pass `cross_encoder` "
                                  "scores for every candidate")
            from .cross_encoder import scores_of

            cross_encoder = scores_of(self.cross_encoder, mentions, evidence)
        features = featurize(mentions, evidence, self.facts(ontology), self.channels, cross_encoder if self.with_cross_encoder else None)
        raw = self.raw_scores(features)
        if self.calibrator is None:
            return self.order(raw, evidence), None
        fused = np.array([candidate.score for candidates in evidence for candidate in candidates], dtype=np.float64)
        return self.order(raw, evidence), confidences(self.calibrator, raw, fused, [len(candidates) for candidates in evidence])

    def raw_scores(self, features: np.ndarray) -> np.ndarray:
        """The model's raw score of each `features` row (as `featurize` returns them), on the process's CPUs (the
        same scores on any number of threads) once a batch is large enough to pay for them."""
        if not len(features):
            return np.zeros(0)
        threads = min(available_cpus(), 1 + len(features) // MIN_ROWS_PER_THREAD)
        return self.booster.predict(features, raw_score=True, num_threads=threads)

    def order(self, raw: np.ndarray, evidence: Sequence[Sequence["CandidateEvidence"]]) -> list[Candidates]:
        """The lists of `evidence` ordered by their rows' `raw_scores`, each candidate with its list share."""
        ranked: list[Candidates] = [[] for _ in evidence]
        for lists, rows in lists_by_length([len(candidates) for candidates in evidence]):
            shares = list_probabilities(raw[rows])
            order = np.argsort(-shares, axis=1, kind="stable")
            for i, places, scores in zip(lists.tolist(), order.tolist(), np.take_along_axis(shares, order, axis=1).tolist()):
                candidates = evidence[i]
                ranked[i] = [(candidates[place].concept_id, score) for place, score in zip(places, scores)]
        return ranked

    def rank_with(self, xmr: "XMRModel", mentions: Sequence[Mention], beam_size: int | None = None,
                  resolve_abbreviations: bool = True) -> tuple[list[Candidates], list[float] | None]:
        """Ask `xmr` for each mention's top `config.top_k` candidates with their channel scores, and rank them: the
        lists and their confidences, as `rank_with_confidence`."""
        mentions = list(mentions)
        evidence = xmr.channel_scores(mentions, top_k=self.config.top_k, beam_size=beam_size, resolve_abbreviations=resolve_abbreviations)
        return self.rank_with_confidence(mentions, evidence, xmr.ontology)

    def importances(self) -> dict[str, float]:
        """{feature: share of the model's total split gain}, largest first."""
        gains = self.booster.feature_importance(importance_type="gain")
        total = float(gains.sum()) or 1.0
        return dict(sorted(((name, float(gain) / total) for name, gain in zip(self.feature_names, gains)), key=lambda pair: -pair[1]))

    # ---- disk format ------------------------------------------------------------------
    def save(self, directory: str | Path) -> None:
        """Write the ranker's directory atomically: it appears complete or not at all."""
        header = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "config": self.config.to_dict(), "channels": self.channels,
                  "with_cross_encoder": self.with_cross_encoder, "features": self.feature_names, "concept_counts": self.concept_counts,
                  "stats": self.stats, "calibration": self.calibrator.to_dict() if self.calibrator else None,
                  "cross_encoder": CROSS_ENCODER_DIR if self.cross_encoder is not None else None}
        with atomic_directory(directory, replaces=(HEADER_FILE,)) as tmp:
            (tmp / HEADER_FILE).write_text(json.dumps(header, indent=1), encoding="utf8")
            (tmp / BOOSTER_FILE).write_text(self.booster.model_to_string(), encoding="utf8")
            if self.cross_encoder is not None:
                self.cross_encoder.save(tmp / CROSS_ENCODER_DIR)

    @classmethod
    def load(cls, directory: str | Path, device: str = "auto") -> "LearnedRanker":
        """Read a directory written by `save`; ModelLoadError names what is missing or wrong. `device`: where its
        cross-encoder runs, if it has one."""
        directory = Path(directory)
        header = _read_header(directory / HEADER_FILE)
        booster_path = directory / BOOSTER_FILE
        if not booster_path.is_file():
            raise ModelLoadError(f"{directory} is not a complete ranker directory: {BOOSTER_FILE} is missing")
        lightgbm = import_lightgbm()
        try:
            booster = lightgbm.Booster(model_str=booster_path.read_text(encoding="utf8"))
        except lightgbm.basic.LightGBMError as err:
            raise ModelLoadError(f"{booster_path} is not a LightGBM model ({err}); train the ranker again") from err
        calibration = header.get("calibration")
        calibrator = None if calibration is None else Calibrator.from_dict(calibration, str(directory / HEADER_FILE), CONFIDENCE_FEATURES)
        cross_encoder = None
        if header.get("cross_encoder"):
            from ..rerank import Reranker

            cross_encoder = Reranker.load(directory / header["cross_encoder"], device=device)
        ranker = cls(RankerConfig.from_dict(header["config"], str(directory / HEADER_FILE)), booster, header["channels"],
                     header["concept_counts"], header["with_cross_encoder"], header.get("stats", {}), calibrator, cross_encoder)
        if ranker.feature_names != header["features"] or booster.num_feature() != len(header["features"]):
            raise ModelLoadError(f"{directory}: the ranker was saved with features {header['features']}, but this spacy-xmr computes "
                                 f"{ranker.feature_names}; train the ranker again with this version")
        return ranker


def _read_header(path: Path) -> dict:
    try:
        header = json.loads(path.read_text(encoding="utf8"))
    except FileNotFoundError as err:
        raise ModelLoadError(wrong_kind(path.parent, HEADER_FILE) if path.parent.is_dir() else f"{path.parent} does not exist "
                             f"(train a ranker with {written_by(HEADER_FILE)})") from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelLoadError(f"{path} is corrupt: {err}") from err
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise ModelLoadError(f"{path}: not a learned ranker (format {header.get('format') if isinstance(header, dict) else None!r})")
    if header.get("format_version") != FORMAT_VERSION:
        raise ModelLoadError(f"{path}: ranker format version {header.get('format_version')!r}; this spacy-xmr reads version "
                             f"{FORMAT_VERSION}: train the ranker again")
    missing = [key for key in ("config", "channels", "features", "concept_counts", "with_cross_encoder") if key not in header]
    if missing:
        raise ModelLoadError(f"{path}: missing field(s) {missing}; the file is incomplete, train the ranker again")
    return header
