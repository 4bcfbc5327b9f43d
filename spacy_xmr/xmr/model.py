"""`XMRModel`: candidate generation for mention strings. It trains the channels (`channels/`), scores a batch with
each, fuses their scores (`fusion.py`) and ranks; it saves and loads a self-contained directory (JSON and arrays,
no pickle) in which the featurizer, the example strings and every channel keep files of their own.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from ..atomic import atomic_directory, refuse_to_replace_other_folder
from ..calibration import Calibrator
from ..corpus.mention import Candidates, Mention
from ..errors import ConfigError, ModelLoadError
from ..model_kinds import XMR_HEADER
from ..ontology import Ontology, with_corpus_concepts
from .abbreviations import texts_to_link
from .arrays import load_json, save_json
from .backend import ArrayBackend, array_backend
from .channels import CHANNELS, Channel, ModelParts, ParentChannel, QueryBatch, TrainingInputs
from .channels.document import offered_concepts, with_document_candidates
from .confidence import CONFIDENCE_CANDIDATES, FEATURE_NAMES, confidences, fit_calibrator
from .config import XMRConfig
from .evidence import ScoredBatch
from .example_strings import ExampleStrings
from .feature_store import FeatureStore
from .features import Featurizer
from .format_versions import FORMAT_NAME, FORMAT_VERSION, read_header
from .lazy_ontology import LazyOntology
from .fusion import CandidateEvidence, channel_weights, fuse, raise_to
from .normalize import normalize_text
from .parallel import available_cpus
from .prediction_settings import PredictionSettings
from .sparse_ops import row_ids, top_k_per_row
from .string_table import StringTable, load_strings, save_strings
from .training_data import build_training_data
from .training_documents import CALIBRATION_DOCUMENTS_FILE, TRAINING_DOCUMENTS_FILE, DocumentSet

logger = logging.getLogger(__name__)

CONFIG_FILE = XMR_HEADER
CONCEPT_IDS_FILE, CONCEPT_ID_TABLE = "concept_ids.json", "concept_id_table"
ONTOLOGY_FILE = "ontology.jsonl.gz"
CALIBRATION_FILE = "calibration.json"
DEFAULT_BEAM_SIZE = 10
MIN_ROWS_PER_THREAD = 64  # below this a batch is scored in the calling thread: a thread costs more than it saves
MAX_ROWS_PER_CHUNK = 1024  # rows scored together: bounds the intermediate products' memory on large batches
GPU_ROWS_PER_CHUNK = 16384  # on a GPU, in one thread: its kernels are the parallelism, and larger chunks fill it


class XMRModel:
    """Ranks the concepts of an ontology for mention strings.

    `config` is the model as trained (and saved); `settings` (`PredictionSettings`, see `configure`) change its
    prediction only. A large batch is scored in chunks of rows by `n_jobs` threads (default: one per available
    CPU): the sparse products and numpy kernels release the GIL, and every row's scores are independent of the
    rest of its batch, so the result is the same for any `n_jobs` and chunk size.
    """

    def __init__(self, config: XMRConfig, ontology: Ontology | LazyOntology, concept_ids: Sequence[str], featurizer: Featurizer,
                 examples: ExampleStrings, channels: dict[str, Channel], stats: dict | None = None, n_jobs: int | None = None):
        """`ontology`: the concepts, or a loaded model's `LazyOntology` (read when first needed)."""
        self.config = config
        self.settings = PredictionSettings()
        self.n_jobs = n_jobs
        self._ontology = ontology if isinstance(ontology, LazyOntology) else LazyOntology(ontology)
        self._concept_ids = concept_ids if isinstance(concept_ids, StringTable) else StringTable.of(concept_ids)
        self.featurizer = featurizer
        self.examples = examples
        self.channels = channels
        self.parent = ParentChannel(self._ontology, self._concept_ids, config.parent)
        self.stats = stats or {}
        self.calibrator: Calibrator | None = None  # see `confidence`
        # the documents it learned from and those its confidence was calibrated on (None: saved before they were kept)
        self.training_documents: DocumentSet | None = None
        self.calibration_documents: DocumentSet | None = None
        self._directory: Path | None = None  # the folder it was loaded from, which a pickle of it names (`__reduce_ex__`)
        self._backend: ArrayBackend | None = None  # see `backend`
        self._prediction_config: tuple | None = None  # (settings, config, the config they make), see `prediction_config`

    @property
    def ontology(self) -> Ontology:
        """The model's concepts (a loaded model reads its ontology file on the first use, see `LazyOntology`)."""
        return self._ontology()

    @property
    def concept_ids(self) -> list[str]:
        return list(self._concept_ids)

    @property
    def concept_table(self) -> StringTable:
        """The concept ids as the model holds them: row i is column i, found by value without a dict (`rows_of`)."""
        return self._concept_ids

    # ---- training ---------------------------------------------------------------------
    @classmethod
    def train(cls, ontology: Ontology, mentions: list[Mention], config: XMRConfig | None = None, progress: bool = True,
              n_jobs: int | None = None, validation: list[Mention] | None = None, work_dir: str | Path | None = None,
              output: str | Path | None = None) -> "XMRModel":
        """Fit on every alias of `ontology` plus the gold-linked `mentions` (ids resolved through alt ids). With
        `training.corpus_concepts`, gold ids the ontology lacks become concepts of the model's own ontology.

        `n_jobs` processes count the n-grams and fit the matchers (default: one per available CPU); the model does
        not depend on it. The confidence is calibrated on the `validation` mentions when given, else out-of-fold on
        the training mentions (`calibration.folds`, see `confidence.py`). The training strings' feature matrix is
        written to a temporary folder under `work_dir` (default: the system's; a disk, not a tmpfs, whose pages would
        stay in memory) and memory-mapped (`feature_store.py`).

        With `output`, the model is saved there and returned loaded from it (memory-mapped). The trained arrays are
        written beside it first and mapped back, so that what training held is given back before the prediction
        indexes are built and the confidence calibrated: at 4×10^6 concepts the model as trained holds 14 GiB, and
        building the indexes beside it passed 20 GiB. Without `output` the model stays in memory (and `save` builds
        the indexes beside it).
        """
        config = config or XMRConfig()
        if output is not None:  # refused now, not after the training
            output = Path(os.path.abspath(output))
            refuse_to_replace_other_folder(output, (CONFIG_FILE,))
        announce = _announcer(progress)
        mentions, n_ontology_concepts = list(mentions), len(ontology)
        # the out-of-fold models add the corpus's concepts from their own folds: a concept named only by held-out
        # mentions is then as unknown to them as a new one is to this model
        calibration = (ontology, mentions, validation, work_dir, announce)
        if config.training.corpus_concepts:
            ontology = with_corpus_concepts(ontology, mentions)
        if len(ontology) < 2:
            raise ConfigError(f"cannot train an XMR model on {len(ontology)} concept(s) (the ontology's {n_ontology_concepts}, "
                              "plus the gold ids that only the training corpus names when training.corpus_concepts is on): it "
                              "needs at least 2")
        model = cls._fitted(ontology, mentions, config, n_ontology_concepts, progress, n_jobs, work_dir)
        if output is None:
            return model._calibrated(*calibration)
        output.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f".{output.name}.", suffix=".trained", dir=output.parent,
                                         ignore_cleanup_errors=True) as staging:
            announce("writing the trained model to %s and mapping it back", staging)
            model._write(Path(staging))
            del model  # its arrays are in the files now: what training held goes back to the system
            reloaded = cls.load(staging, n_jobs=n_jobs)
            reloaded._ontology.holding(ontology)
            reloaded._calibrated(*calibration)
            announce("saving the model to %s with its prediction indexes", output)
            reloaded.save(output)
            del reloaded  # its files are mapped: removing them goes better after (Windows refuses it while they are)
        return cls.load(output, n_jobs=n_jobs)

    @classmethod
    def _fitted(cls, ontology: Ontology, mentions: list[Mention], config: XMRConfig, n_ontology_concepts: int,
                progress: bool, n_jobs: int | None, work_dir: str | Path | None) -> "XMRModel":
        """The model fitted, not yet calibrated (see `train`)."""
        announce = _announcer(progress)
        timings: dict[str, float] = {}
        start = time.perf_counter()
        data = build_training_data(ontology, mentions, config.training)
        announce("featurising %d training strings of %d concepts", len(data.keys), len(data.concept_ids))
        with FeatureStore(work_dir) as store:
            featurizer, features = Featurizer.fit_transform(data.keys, config.features, n_jobs, store)
        timings["features_s"] = time.perf_counter() - start
        inputs = TrainingInputs(data, features, ExampleStrings(data.keys, data.labels, features), config, progress, n_jobs,
                                work_dir)
        channels = {}
        for channel_class in CHANNELS:
            if channel_class.enabled(config):
                announce("building the %s channel", channel_class.name)
                start = time.perf_counter()
                channels[channel_class.name] = channel_class.build(inputs)
                timings[f"{channel_class.name}_s"] = time.perf_counter() - start
        stats = {
            "n_concepts": len(data.concept_ids), "n_corpus_concepts": len(ontology) - n_ontology_concepts,
            "n_examples": len(data.keys), "n_features": featurizer.n_features,
            "n_mentions_used": data.n_mentions_used, "n_mentions_skipped": data.n_mentions_skipped,
            "mention_types": dict(Counter(mention.type for mention in mentions)),  # read by `evaluate`'s warnings
            **{key: value for channel in channels.values() for key, value in channel.stats().items()},
            **{k: round(v, 3) for k, v in timings.items()},
        }
        logger.debug("trained XMR model: %s", stats)
        # the training strings as Python objects (GBs at UMLS size) go with `data`: the model holds them as a table
        model = cls(config, ontology, data.concept_ids, featurizer, inputs.examples, channels, stats, n_jobs)
        model.training_documents = DocumentSet.of(mention.document_text for mention in mentions)
        return model

    def _calibrated(self, ontology: Ontology, mentions: list[Mention], validation: list[Mention] | None,
                    work_dir: str | Path | None, announce) -> "XMRModel":
        """This model with its confidence calibrated (see `fit_calibrator`) and the time that took in its stats."""
        if validation or self.config.calibration.folds:
            announce("calibrating the confidence on %s", f"{len(validation)} validation mentions" if validation else
                     f"the training mentions out-of-fold ({self.config.calibration.folds} more models, each without a fold)")
        start = time.perf_counter()
        self.calibrator = fit_calibrator(self, ontology, mentions, self.config, validation, self.n_jobs, work_dir)
        if self.calibrator is not None and validation:
            self.calibration_documents = DocumentSet.of(mention.document_text for mention in validation)
        if self.calibrator is not None:
            self.stats.update(calibration_s=round(time.perf_counter() - start, 3), calibration=self.calibrator.fitted_on)
        return self

    # ---- prediction settings ----------------------------------------------------------
    def configure(self, **settings) -> "XMRModel":
        """Set the prediction settings (`PredictionSettings`: document_candidates, channel_weights, beam_size,
        dense_device, n_jobs, device, exclude_top_level, max_postings, tree_candidates) in place of the previous ones;
        the trained config is unchanged, and so are the threads and the encoder's device where the new settings leave
        them unset. Returns the model."""
        checked = PredictionSettings.from_dict(settings)
        self.settings, self._backend = checked, array_backend(checked.device)
        if checked.n_jobs is not None:
            self.n_jobs = checked.n_jobs
        if checked.dense_device is not None and "dense" in self.channels:
            self.channels["dense"].use_device(checked.dense_device)
        return self

    @property
    def backend(self) -> ArrayBackend:
        """Where the tree and nearest channels' sparse products and top-k run: the `device` setting, resolved once
        ("auto": a GPU when cupy is installed and sees one, else the CPU)."""
        if self._backend is None:
            self._backend = array_backend(self.settings.device)
        return self._backend

    @property
    def prediction_config(self) -> XMRConfig:
        """The trained config with the prediction settings in place, kept while the two are the same objects (checking
        the settings again took milliseconds of every batch)."""
        kept = self._prediction_config
        if kept is None or kept[0] is not self.settings or kept[1] is not self.config:
            config = self.settings.applied_to(self.config) if self.settings != PredictionSettings() else self.config
            self._prediction_config = (self.settings, self.config, config)
        return self._prediction_config[2]

    # ---- prediction -------------------------------------------------------------------
    def score_matrix(self, texts: list[str], top_k: int = 10, beam_size: int | None = None) -> sp.csr_matrix:
        """queries × concepts: fused scores of the best `top_k` concepts per text (raw texts, normalised here)."""
        return self._scored(texts, top_k, beam_size, with_channels=False).fused

    def _scored(self, texts: list[str], top_k: int, beam_size: int | None, with_channels: bool) -> ScoredBatch:
        """Each text's row, its normalised key scored once per batch: a document repeats its mentions (in batches of
        NCBI Disease abstracts, half the keys repeat another), and every channel scores a key alone."""
        keys = [normalize_text(text) for text in texts]
        distinct = dict.fromkeys(keys)
        if len(distinct) == len(keys):
            return self._scored_keys(keys, top_k, beam_size, with_channels)
        row_of = {key: row for row, key in enumerate(distinct)}
        return self._scored_keys(list(distinct), top_k, beam_size, with_channels).rows(np.array([row_of[key] for key in keys]))

    def _scored_keys(self, keys: list[str], top_k: int, beam_size: int | None, with_channels: bool) -> ScoredBatch:
        beam_size = beam_size or self.settings.beam_size or DEFAULT_BEAM_SIZE
        if top_k < 1 or beam_size < 1:
            raise ConfigError(f"top_k ({top_k}) and beam_size ({beam_size}) must be >= 1")
        weights = channel_weights(self.prediction_config.fusion)
        if not keys:
            empty = sp.csr_matrix((0, len(self._concept_ids)), dtype=np.float32)
            return ScoredBatch(empty, {})
        n_threads = min(available_cpus() if self.n_jobs is None else self.n_jobs, len(keys) // MIN_ROWS_PER_THREAD)
        rows_per_chunk = MAX_ROWS_PER_CHUNK
        if self.backend.on_gpu:  # its kernels are the parallelism; threads only where `n_jobs` asks for them
            n_threads, rows_per_chunk = (1 if self.n_jobs is None else n_threads), GPU_ROWS_PER_CHUNK
        chunk = max(1, min(rows_per_chunk, -(-len(keys) // max(n_threads, 1))))
        active = self._prepare(weights)
        whole = {name: channel.score(self._queries(keys, top_k, beam_size)) for name, channel in active.items() if channel.whole_batch}

        def score_chunk(lo: int) -> ScoredBatch:
            precomputed = {name: matrix[lo:lo + chunk] for name, matrix in whole.items()}
            with self.backend.activated():  # in each thread: a GPU is current per thread
                return self._score_keys(keys[lo:lo + chunk], precomputed, active, weights, top_k, beam_size, with_channels)

        if n_threads <= 1:
            return ScoredBatch.stacked([score_chunk(lo) for lo in range(0, len(keys), chunk)])
        with ThreadPoolExecutor(n_threads) as pool:
            return ScoredBatch.stacked(list(pool.map(score_chunk, range(0, len(keys), chunk))))

    def _queries(self, keys: list[str], top_k: int, beam_size: int) -> QueryBatch:
        return QueryBatch(keys, lambda: self.featurizer.transform(keys), top_k, beam_size, self.backend)

    def _score_keys(self, keys: list[str], precomputed: dict[str, sp.csr_matrix], active: dict[str, Channel],
                    weights: dict[str, float], top_k: int, beam_size: int, with_channels: bool) -> ScoredBatch:
        queries = self._queries(keys, top_k, beam_size)
        scores = queries.earlier  # filled in channel order: a channel sees the scores of those before it
        for name, channel in active.items():
            scores[name] = precomputed[name] if name in precomputed else channel.score(queries)
        fused = fuse(scores, weights, (len(keys), len(self._concept_ids)))
        if weights["parent"]:
            scores["parent"] = self.parent.rescore(fused)
            fused = raise_to(fused, scores["parent"], weights["parent"])
        fused = top_k_per_row(self.parent.without_barred(fused), top_k)
        empty = np.array([not key for key in keys], dtype=bool)
        if empty.any():  # a text with no letters or digits has no candidates
            fused.data[np.repeat(empty, np.diff(fused.indptr))] = 0
            fused.eliminate_zeros()
        return ScoredBatch(fused, scores if with_channels else {})

    def _prepare(self, weights: dict[str, float]) -> dict[str, Channel]:
        """The channels of nonzero weight, with what they derive from the model built, once and before threads share
        them (a saved model stores these indexes; building them takes most of a minute at 10^6 concepts, so that is
        logged)."""
        start = time.perf_counter()
        active = {name: channel for name, channel in self.channels.items() if weights[name]}
        for channel in active.values():
            channel.prepare(self.prediction_config)
        self.parent.prepare(self.prediction_config.parent)  # its hierarchy removes the roots whatever the weights
        if time.perf_counter() - start > 1:
            logger.info("built the prediction indexes in %.0f s; later calls reuse them", time.perf_counter() - start)
        return active

    def predict(self, texts: list[str], top_k: int = 10, beam_size: int | None = None) -> list[Candidates]:
        """For each text, up to `top_k` (concept id, score) pairs, best first, each id once."""
        if isinstance(texts, str):
            raise TypeError("predict() takes a list of texts; wrap a single text in a list")
        return self._named(self._rankings(self.score_matrix(list(texts), top_k, beam_size)))

    def predict_mentions(self, mentions: list[Mention], top_k: int = 10, beam_size: int | None = None,
                         resolve_abbreviations: bool = True) -> list[Candidates]:
        """Like `predict`; a mention holding a short form defined in its document is also linked
        by its long form, and each concept keeps the better of its two scores.

        Both, because Schwartz–Hearst sometimes picks too short a long form ("AAPC" →
        "adenomatous polyposis coli") while the short form itself may be a known alias. The last slots of each
        list then go to its document's concepts (`fusion.document_candidates`, channels/document.py).
        """
        mentions = list(mentions)
        rankings = self._rankings(self._scored_mentions(mentions, top_k, beam_size, resolve_abbreviations, False).fused)
        return self._named(self._with_document_candidates(rankings, mentions, top_k)[0])

    def channel_scores(self, texts_or_mentions: Sequence[str] | Sequence[Mention], top_k: int = 10, beam_size: int | None = None,
                       resolve_abbreviations: bool = True) -> list[list[CandidateEvidence]]:
        """The candidates that `predict` (for texts) or `predict_mentions` (for mentions) returns, each with its
        fused score and the unweighted score of every channel that scored it; `fusion.fused_score` of those scores
        and the channel weights (`fusion.channel_weights(model.prediction_config.fusion)`) gives the fused score."""
        items = list(texts_or_mentions)
        if items and isinstance(items[0], Mention):
            scored = self._scored_mentions(items, top_k, beam_size, resolve_abbreviations, True)
            rankings, offered = self._with_document_candidates(self._rankings(scored.fused), items, top_k)
        else:
            scored = self._scored(items, top_k, beam_size, True)
            rankings = self._rankings(scored.fused)
            offered = [[] for _ in rankings]
        return scored.evidence(rankings, offered, self._concept_ids)

    def _with_document_candidates(self, rankings: list[list[tuple[int, float]]], mentions: list[Mention],
                                  top_k: int) -> tuple[list[list[tuple[int, float]]], list[list[int]]]:
        """The rankings (of columns) with their documents' concepts in their last slots, and the columns each was offered."""
        slots = self.prediction_config.fusion.document_candidates
        offered = offered_concepts(rankings, [mention.document_id for mention in mentions], top_k, slots)
        return with_document_candidates(rankings, offered, top_k, slots), offered

    def linked(self, mentions: Sequence[Mention], top_k: int = 10, beam_size: int | None = None,
               resolve_abbreviations: bool = True) -> tuple[list[list[CandidateEvidence]], list[float] | None]:
        """The mentions' `channel_scores` cut at `top_k`, and each top candidate's `confidence`, which reads the margin
        to the second candidate: scored from two candidates when `top_k` is 1, as the calibrator was fitted."""
        evidence = self.channel_scores(mentions, top_k=max(top_k, CONFIDENCE_CANDIDATES), beam_size=beam_size,
                                       resolve_abbreviations=resolve_abbreviations)
        return [candidates[:top_k] for candidates in evidence], self.confidence(evidence)

    def confidence(self, evidence: Sequence[Sequence[CandidateEvidence]]) -> list[float] | None:
        """For each mention's candidates (from `channel_scores`), the probability that its top candidate is right;
        None when the model has no calibrator (trained on names alone, or saved by a version without one)."""
        return None if self.calibrator is None else confidences(self.calibrator, evidence)

    def _scored_mentions(self, mentions: list[Mention], top_k: int, beam_size: int | None, resolve_abbreviations: bool,
                         with_channels: bool) -> ScoredBatch:
        """The mentions' rows; a short form's long form is scored in the same call as the texts: each call of the
        channels has a fixed cost, and a second call for the long forms took about 30 ms a batch of 64 NCBI Disease
        abstracts."""
        texts = [mention.text for mention in mentions]
        long_forms = texts_to_link(mentions) if resolve_abbreviations and mentions else texts
        changed = [i for i, (text, long_form) in enumerate(zip(texts, long_forms)) if text != long_form]
        scored = self._scored(texts + [long_forms[i] for i in changed], top_k, beam_size, with_channels)
        if not changed:
            return scored
        own, expanded = scored.rows(np.arange(len(texts))), scored.rows(np.arange(len(texts), len(texts) + len(changed)))
        return own.merged(expanded.placed(np.asarray(changed), len(texts)), top_k)

    @staticmethod
    def _rankings(scores: sp.csr_matrix) -> list[list[tuple[int, float]]]:
        """Each row's concepts by score, best first, as (column, score) pairs: the document channel and the evidence
        work on columns, and `_named` names them once at the end. One stable sort of the batch on (row, -score)."""
        scores.sort_indices()  # equal scores rank by concept index, whatever the batch
        order = np.lexsort((-scores.data, row_ids(scores)))
        columns, values, bounds = scores.indices[order].tolist(), scores.data[order].tolist(), scores.indptr.tolist()
        return [list(zip(columns[lo:hi], values[lo:hi])) for lo, hi in zip(bounds[:-1], bounds[1:])]

    def _named(self, rankings: Sequence[Sequence[tuple[int, float]]]) -> list[Candidates]:
        """`_rankings`' lists with each column's concept id (one lookup of the batch's columns in the concept table)."""
        ids = iter(self._concept_ids.at(np.array([column for ranking in rankings for column, _ in ranking], dtype=np.int64)))
        return [[(next(ids), score) for _, score in ranking] for ranking in rankings]

    # ---- disk format ------------------------------------------------------------------
    def __reduce_ex__(self, protocol):
        """A loaded model pickles as its folder and prediction settings: the process that unpickles it (a spawn-started
        `nlp.pipe(n_process=...)` worker, a Ray task) maps the same files, shared in the page cache, instead of
        receiving a copy of every array. A model built in memory (trained, never loaded) pickles by value."""
        if self._directory is None:
            return super().__reduce_ex__(protocol)
        return _reloaded, (str(self._directory), self.settings.to_dict(), self.n_jobs)

    def __getstate__(self) -> dict:
        """What a pickle by value holds: all but the backend, which holds modules and is resolved again."""
        return {**self.__dict__, "_backend": None}

    def save(self, directory: str | Path) -> None:
        """Write the model directory atomically: it appears complete or not at all.

        The prediction indexes of the trained config's channels are built first and saved too, so that loading
        the model is enough to predict. The prediction settings are not saved: they belong to the caller.
        """
        self._prepare(channel_weights(self.config.fusion))
        with atomic_directory(directory, replaces=(CONFIG_FILE,)) as tmp:
            self._write(tmp)

    def _write(self, directory: Path) -> None:
        """Write the model's files into `directory`, with whichever prediction indexes are built."""
        header = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "config": self.config.to_dict(), "stats": self.stats}
        (directory / CONFIG_FILE).write_text(json.dumps(header, indent=2), encoding="utf8")
        save_strings(directory, self._concept_ids, CONCEPT_ID_TABLE, CONCEPT_IDS_FILE)
        self.featurizer.to_disk(directory)
        self.examples.save(directory)
        for channel in self.channels.values():
            channel.save(directory)
        self.parent.save(directory)
        self._ontology.to_disk(directory / ONTOLOGY_FILE)
        if self.calibrator is not None:
            save_json(directory / CALIBRATION_FILE, self.calibrator.to_dict())
        for documents, name in ((self.training_documents, TRAINING_DOCUMENTS_FILE), (self.calibration_documents, CALIBRATION_DOCUMENTS_FILE)):
            if documents is not None:
                documents.save(directory / name)

    @classmethod
    def load(cls, directory: str | Path, **settings) -> "XMRModel":
        """Read a directory written by `save`, with prediction `settings` (see `configure`) in place of the trained
        ones; raises ModelLoadError naming what is wrong, ConfigError naming a bad setting."""
        checked = PredictionSettings.from_dict(settings)  # a bad setting fails before anything is read
        directory = Path(directory)
        if not directory.is_dir():
            raise ModelLoadError(f"XMR model directory {directory} does not exist (train one with `spacy-xmr train-xmr`)")
        header, config = read_header(directory / CONFIG_FILE)
        concept_ids = load_strings(directory, CONCEPT_ID_TABLE, CONCEPT_IDS_FILE)
        featurizer = Featurizer.from_disk(directory, config.features)
        examples = ExampleStrings.load(directory, len(concept_ids), featurizer.n_features)
        parts = ModelParts(directory, examples, featurizer.n_features, checked.applied_to(config))
        channels = {channel_class.name: channel_class.load(parts) for channel_class in CHANNELS if channel_class.enabled(config)}
        model = cls(config, LazyOntology.of_file(directory / ONTOLOGY_FILE), concept_ids, featurizer, examples, channels, header.get("stats", {}))
        model.parent.load_saved(directory)
        model.settings, model.n_jobs, model._backend = checked, checked.n_jobs, array_backend(checked.device)
        model._directory = directory.resolve()
        if (directory / CALIBRATION_FILE).exists():  # absent: trained on names alone, or by a version before calibration
            model.calibrator = Calibrator.from_dict(load_json(directory / CALIBRATION_FILE), str(directory / CALIBRATION_FILE), FEATURE_NAMES)
        model.training_documents = DocumentSet.load(directory / TRAINING_DOCUMENTS_FILE)
        model.calibration_documents = DocumentSet.load(directory / CALIBRATION_DOCUMENTS_FILE)
        return model


def _announcer(progress: bool):
    """How training tells each phase as it starts: logged at INFO with `progress` (`spacy-xmr train-xmr` shows them)."""
    return logger.info if progress else logger.debug


def _reloaded(directory: str, settings: dict, n_jobs: int | None) -> XMRModel:
    """The model a pickle names (`XMRModel.__reduce_ex__`), loaded again from its folder."""
    model = XMRModel.load(directory, **settings)
    model.n_jobs = n_jobs
    return model
