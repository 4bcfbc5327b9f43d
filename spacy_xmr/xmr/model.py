"""`XMRModel`: the whole candidate generator — features, label tree, matchers, beam search, the exact,
word-key and nearest-neighbour string channels, the ontology's parent channel and the optional dense
channel — with training, batched prediction and a self-contained on-disk format (JSON + npz, no pickle;
the dense channel's encoder as safetensors).
"""
from __future__ import annotations

import json
import logging
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from ..atomic import atomic_directory
from ..corpus.mention import Mention
from ..errors import ConfigError, ModelLoadError, SpacyXmrError
from ..ontology import Ontology, with_corpus_concepts
from .abbreviations import texts_to_link
from .alias_index import AliasIndex
from .beam import beam_search
from .clustering import build_cluster_chain
from .config import XMRConfig
from .document_candidates import Ranking, with_document_candidates
from .features import Featurizer
from .hierarchy import parent_matrix, parent_scores
from .label_embedding import label_embeddings
from .layer import Layer
from .matcher import train_matchers
from .normalize import normalize_text
from .parallel import available_cpus
from .sparse_ops import place_rows, top_k_per_row
from .training_data import build_training_data

if TYPE_CHECKING:
    from .dense import DenseIndex

logger = logging.getLogger(__name__)

FORMAT_NAME = "spacy-xmr-xmr-model"
FORMAT_VERSION = 2  # 2: features see `key_words` (FeatureConfig.canonical_words), word-key channel
CONFIG_FILE = "xmr.json"
ONTOLOGY_FILE = "ontology.jsonl.gz"
TREE_CANDIDATES = 20  # labels the tree hands to fusion per query, at least
MIN_ROWS_PER_THREAD = 64  # below this a batch is scored in the calling thread: a thread costs more than it saves
MAX_ROWS_PER_CHUNK = 1024  # rows scored together: bounds the intermediate products' memory on large batches


class XMRModel:
    """Ranks the concepts of an ontology for mention strings.

    A large batch is scored in chunks of rows by `n_jobs` threads (default: one per available CPU):
    the sparse products and numpy kernels release the GIL, and every row's scores are independent of
    the rest of its batch, so the result is the same for any `n_jobs` and chunk size.
    """

    def __init__(self, config: XMRConfig, ontology: Ontology, concept_ids: list[str], featurizer: Featurizer,
                 layers: list[Layer], alias_index: AliasIndex, stats: dict | None = None, n_jobs: int | None = None,
                 dense: "DenseIndex | None" = None):
        self.config = config
        self.n_jobs = n_jobs
        self._ontology = ontology
        self._concept_ids = list(concept_ids)
        self.featurizer = featurizer
        self.layers = layers
        self.alias_index = alias_index
        self.dense = dense
        self.stats = stats or {}
        self._parents: sp.csr_matrix | None = None

    @property
    def ontology(self) -> Ontology:
        return self._ontology

    @property
    def concept_ids(self) -> list[str]:
        return list(self._concept_ids)

    # ---- training ---------------------------------------------------------------------
    @classmethod
    def train(cls, ontology: Ontology, mentions: list[Mention], config: XMRConfig | None = None, progress: bool = True,
              n_jobs: int | None = None) -> "XMRModel":
        """Fit on every alias of `ontology` plus the gold-linked `mentions` (ids resolved through alt ids). With
        `training.corpus_concepts`, gold ids the ontology lacks become concepts of the model's own ontology.

        `n_jobs` processes count the n-grams and fit the matchers (default: one per available CPU); the model does
        not depend on it.
        """
        config = config or XMRConfig()
        if len(ontology) < 2:
            raise ConfigError(f"cannot train an XMR model on an ontology of {len(ontology)} concept(s): it needs at least 2")
        timings: dict[str, float] = {}
        start = time.perf_counter()
        mentions, n_ontology_concepts = list(mentions), len(ontology)
        if config.training.corpus_concepts:
            ontology = with_corpus_concepts(ontology, mentions)
        data = build_training_data(ontology, mentions, config.training)
        featurizer, features = Featurizer.fit_transform(data.keys, config.features, n_jobs)
        timings["features_s"] = time.perf_counter() - start
        start = time.perf_counter()
        chain = build_cluster_chain(  # the label embeddings are dropped once the tree is built
            label_embeddings(features, data.labels, data.name_rows, config.tree.name_weight), config.tree.max_leaf_size,
            config.tree.branching_factor, config.tree.kmeans_iterations, config.seed, progress,
        )
        timings["tree_s"] = time.perf_counter() - start
        start = time.perf_counter()
        layers = train_matchers(features, data.labels, chain, data.weights, config.matcher, progress, n_jobs, config.fusion.post_processor)
        timings["matchers_s"] = time.perf_counter() - start
        dense = None
        if config.dense.encoder:
            from .dense import DenseIndex

            start = time.perf_counter()
            dense = DenseIndex.build(config.dense, data.keys, data.labels, progress)
            timings["dense_s"] = time.perf_counter() - start
        stats = {
            "n_concepts": len(data.concept_ids), "n_corpus_concepts": len(ontology) - n_ontology_concepts,
            "n_examples": len(data.keys), "n_features": featurizer.n_features,
            "n_mentions_used": data.n_mentions_used, "n_mentions_skipped": data.n_mentions_skipped,
            "layer_sizes": [layer.n_nodes for layer in layers], "layer_nonzeros": [int(layer.weights.nnz) for layer in layers],
            **{k: round(v, 3) for k, v in timings.items()},
        }
        logger.info("trained XMR model: %s", stats)
        return cls(config, ontology, data.concept_ids, featurizer, layers, AliasIndex(data.keys, data.labels, features), stats, n_jobs,
                   dense)

    # ---- prediction -------------------------------------------------------------------
    def score_matrix(self, texts: list[str], top_k: int = 10, beam_size: int = 10) -> sp.csr_matrix:
        """queries × concepts: fused scores of the best `top_k` concepts per text (raw texts, normalised here)."""
        if top_k < 1 or beam_size < 1:
            raise ConfigError(f"top_k ({top_k}) and beam_size ({beam_size}) must be >= 1")
        keys = [normalize_text(text) for text in texts]
        n_threads = min(available_cpus() if self.n_jobs is None else self.n_jobs, len(keys) // MIN_ROWS_PER_THREAD)
        if not keys:
            return sp.csr_matrix((0, len(self._concept_ids)), dtype=np.float32)
        chunk = max(1, min(MAX_ROWS_PER_CHUNK, -(-len(keys) // max(n_threads, 1))))
        self._prepare()
        # the encoder batches the whole input itself (and may hold a GPU), so the dense channel runs first
        dense = self._dense_scores(keys)
        chunks = [(keys[lo:lo + chunk], None if dense is None else dense[lo:lo + chunk]) for lo in range(0, len(keys), chunk)]
        if n_threads <= 1:
            return sp.vstack([self._score_keys(*part, top_k, beam_size) for part in chunks], format="csr")
        with ThreadPoolExecutor(n_threads) as pool:
            return sp.vstack(list(pool.map(lambda part: self._score_keys(*part, top_k, beam_size), chunks)), format="csr")

    def _dense_scores(self, keys: list[str]) -> sp.csr_matrix | None:
        if self.dense is None or not self.config.fusion.dense_weight:
            return None
        return self.dense.scores(keys, example_strings=self.alias_index.are_examples(keys))

    def _score_keys(self, keys: list[str], dense: sp.csr_matrix | None, top_k: int, beam_size: int) -> sp.csr_matrix:
        fusion = self.config.fusion
        features = self.featurizer.transform(keys)
        n_labels = len(self._concept_ids)
        fused = sp.csr_matrix((len(keys), n_labels), dtype=np.float32)
        if fusion.tree_weight:
            tree = beam_search(features, self.layers, beam_size, max(top_k, TREE_CANDIDATES), fusion.post_processor)
            fused = fused + fusion.tree_weight * tree
        if fusion.exact_weight:
            fused = fused + fusion.exact_weight * self.alias_index.exact(keys)
        if fusion.word_weight:
            fused = fused + fusion.word_weight * self.alias_index.word_match(
                keys, fusion.substitution_weight, fusion.drop_weight, fusion.rewrite_min_concepts
            )
        if fusion.nn_weight:
            fused = fused + fusion.nn_weight * self.alias_index.nearest(
                features, fusion.nn_top_aliases, fusion.nn_query_terms, fusion.nn_index_terms
            )
        if dense is not None:
            fused = fused + fusion.dense_weight * dense
        fused = fused.tocsr()
        if fusion.parent_weight:
            fused = fused.maximum(fusion.parent_weight * parent_scores(fused, self._parent_matrix(), fusion.parent_top_children)).tocsr()
        fused = top_k_per_row(fused, top_k)
        empty = np.array([not key for key in keys], dtype=bool)
        if empty.any():  # a text with no letters or digits has no candidates
            fused.data[np.repeat(empty, np.diff(fused.indptr))] = 0
            fused.eliminate_zeros()
        return fused

    def _prepare(self) -> None:
        """Build what the enabled channels derive from the model, once and before threads share it (a saved
        model stores these indexes; building them takes most of a minute at 10^6 concepts, so that is logged)."""
        start = time.perf_counter()
        fusion = self.config.fusion
        if fusion.nn_weight:
            self.alias_index.term_index(fusion.nn_index_terms)
        if fusion.word_weight:
            self.alias_index.rewrites(fusion.rewrite_min_concepts)
        if fusion.parent_weight:
            self._parent_matrix()
        if time.perf_counter() - start > 1:
            logger.info("built the prediction indexes (term index, word rewrites, parents) in %.0f s; later calls reuse them",
                        time.perf_counter() - start)

    def _parent_matrix(self) -> sp.csr_matrix:
        """Built on first use from the stored ontology (the model directory holds no copy of it)."""
        if self._parents is None:
            self._parents = parent_matrix(self._ontology, self._concept_ids)
        return self._parents

    def predict(self, texts: list[str], top_k: int = 10, beam_size: int = 10) -> list[Ranking]:
        """For each text, up to `top_k` (concept id, score) pairs, best first, each id once."""
        if isinstance(texts, str):
            raise TypeError("predict() takes a list of texts; wrap a single text in a list")
        if not texts:
            return []
        return self._rankings(self.score_matrix(list(texts), top_k, beam_size))

    def predict_mentions(self, mentions: list[Mention], top_k: int = 10, beam_size: int = 10,
                         resolve_abbreviations: bool = True) -> list[Ranking]:
        """Like `predict`; a mention holding a short form defined in its document is also linked
        by its long form, and each concept keeps the better of its two scores.

        Both, because Schwartz–Hearst sometimes picks too short a long form ("AAPC" →
        "adenomatous polyposis coli") while the short form itself may be a known alias. The last slots of each
        list then go to its document's concepts (`fusion.document_candidates`, document_candidates.py).
        """
        mentions = list(mentions)
        if not mentions:
            return []
        texts = [mention.text for mention in mentions]
        scores = self.score_matrix(texts, top_k, beam_size)
        if resolve_abbreviations:
            long_forms = texts_to_link(mentions)
            changed = [i for i, (text, long_form) in enumerate(zip(texts, long_forms)) if text != long_form]
            if changed:
                expanded = self.score_matrix([long_forms[i] for i in changed], top_k, beam_size)
                scores = top_k_per_row(scores.maximum(place_rows(expanded, np.asarray(changed), len(texts))).tocsr(), top_k)
        return with_document_candidates(self._rankings(scores), [mention.document_id for mention in mentions], top_k,
                                        self.config.fusion.document_candidates)

    def _rankings(self, scores: sp.csr_matrix) -> list[Ranking]:
        scores.sort_indices()  # equal scores rank by concept index, whatever the batch
        rankings = []
        for row in range(scores.shape[0]):
            lo, hi = scores.indptr[row], scores.indptr[row + 1]
            order = np.argsort(-scores.data[lo:hi], kind="stable")
            rankings.append([(self._concept_ids[c], float(s)) for c, s in zip(scores.indices[lo:hi][order], scores.data[lo:hi][order])])
        return rankings

    # ---- disk format ------------------------------------------------------------------
    def save(self, directory: str | Path) -> None:
        """Write the model directory atomically: it appears complete or not at all.

        The prediction indexes are built first (for this model's settings) and saved too, so that loading the
        model is enough to predict.
        """
        self._prepare()
        with atomic_directory(directory) as tmp:
            header = {
                "format": FORMAT_NAME, "format_version": FORMAT_VERSION, "config": self.config.to_dict(),
                "n_layers": len(self.layers), "stats": self.stats,
            }
            (tmp / CONFIG_FILE).write_text(json.dumps(header, indent=2), encoding="utf8")
            (tmp / "concept_ids.json").write_text(json.dumps(self._concept_ids), encoding="utf8")
            self.featurizer.to_disk(tmp)
            for index, layer in enumerate(self.layers):
                np.savez(
                    tmp / f"layer_{index}.npz", weights_data=layer.weights.data, weights_indices=layer.weights.indices,
                    weights_indptr=layer.weights.indptr, weights_shape=np.array(layer.weights.shape),
                    bias=layer.bias, parent=layer.clusters.indices, n_parents=np.array(layer.clusters.shape[1]),
                )
            (tmp / "alias_keys.json").write_text(json.dumps(self.alias_index.keys, ensure_ascii=False), encoding="utf8")
            sp.save_npz(tmp / "alias_labels.npz", self.alias_index.labels, compressed=False)
            sp.save_npz(tmp / "alias_features.npz", self.alias_index.features, compressed=False)
            self.alias_index.save_indexes(tmp, self.config.fusion.nn_index_terms)
            self._ontology.to_disk(tmp / ONTOLOGY_FILE)
            if self.dense is not None:
                self.dense.save(tmp)

    @classmethod
    def load(cls, directory: str | Path) -> "XMRModel":
        """Read a directory written by `save`; raises ModelLoadError naming what is wrong."""
        directory = Path(directory)
        if not directory.is_dir():
            raise ModelLoadError(f"XMR model directory {directory} does not exist (train one with `spacy-xmr train-xmr`)")
        header_path = directory / CONFIG_FILE
        try:
            header = json.loads(header_path.read_text(encoding="utf8"))
        except FileNotFoundError as err:
            raise ModelLoadError(f"{directory} is not an XMR model directory: {CONFIG_FILE} is missing") from err
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ModelLoadError(f"{header_path} is corrupt: {err}") from err
        if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
            raise ModelLoadError(f"{header_path}: not an XMR model (format {header.get('format') if isinstance(header, dict) else None!r})")
        if header.get("format_version") != FORMAT_VERSION:
            raise ModelLoadError(
                f"{header_path}: model format version {header.get('format_version')!r}, but this spacy-xmr reads "
                f"version {FORMAT_VERSION}; retrain the model with this version"
            )
        current = header_path
        try:
            config = XMRConfig.from_dict(header["config"])
            current = directory / "concept_ids.json"
            concept_ids = json.loads(current.read_text(encoding="utf8"))
            current = directory / "idf.npz"
            featurizer = Featurizer.from_disk(directory, config.features)
            layers = []
            for index in range(int(header["n_layers"])):
                current = directory / f"layer_{index}.npz"
                layers.append(_load_layer(current))
            current = directory / "alias_keys.json"
            keys = json.loads(current.read_text(encoding="utf8"))
            current = directory / "alias_labels.npz"
            labels = sp.load_npz(current)
            current = directory / "alias_features.npz"
            alias_features = sp.load_npz(current)
            current = directory / ONTOLOGY_FILE
            ontology = Ontology.from_disk(current)
        except ModelLoadError:
            raise
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, SpacyXmrError) as err:
            raise ModelLoadError(f"{current}: missing or corrupt in the XMR model directory {directory} ({type(err).__name__}: {err})") from err
        _check_shapes(directory, concept_ids, featurizer, layers, keys, labels, alias_features)
        alias_index = AliasIndex(keys, labels, alias_features)
        alias_index.load_indexes(directory, config.fusion.nn_index_terms)
        dense = None
        if config.dense.encoder:
            from .dense import DenseIndex

            dense = DenseIndex.load(directory, config.dense, labels)
        return cls(config, ontology, concept_ids, featurizer, layers, alias_index, header.get("stats", {}), dense=dense)


def _load_layer(path: Path) -> Layer:
    with np.load(path, allow_pickle=False) as arrays:
        weights = sp.csr_matrix(
            (arrays["weights_data"], arrays["weights_indices"], arrays["weights_indptr"]), shape=tuple(arrays["weights_shape"])
        )
        parent = arrays["parent"]
        clusters = sp.csr_matrix(
            (np.ones(parent.size, np.float32), parent, np.arange(parent.size + 1)), shape=(parent.size, int(arrays["n_parents"]))
        )
        return Layer(weights, arrays["bias"], clusters)


def _check_shapes(directory, concept_ids, featurizer, layers, keys, labels, alias_features) -> None:
    problems = []
    if layers and layers[-1].n_nodes != len(concept_ids):
        problems.append(f"the last layer has {layers[-1].n_nodes} labels but concept_ids.json {len(concept_ids)}")
    for index, layer in enumerate(layers):
        if layer.weights.shape != (featurizer.n_features, layer.n_nodes):
            problems.append(f"layer_{index}.npz weights have shape {layer.weights.shape}")
    if labels.shape != (len(keys), len(concept_ids)) or alias_features.shape != (len(keys), featurizer.n_features):
        problems.append("alias_labels.npz / alias_features.npz do not match alias_keys.json")
    if problems:
        raise ModelLoadError(f"XMR model directory {directory} is inconsistent: {'; '.join(problems)}")
