"""File-level workflows behind `spacy-xmr train-xmr`, `apply-xmr` and `train-dense-encoder`, usable from Python too."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import bioc

from ..atomic import atomic_directory, refuse_to_overwrite_input
from ..corpus import gold_linked_mentions
from ..evaluation_checks import mark_what_the_model_learned, require_gold_mentions
from ..ontology import read_ontology_file, with_corpus_concepts
from ..xmr import DenseConfig, TrainingDataConfig, XMRConfig, XMRModel

if TYPE_CHECKING:
    from ..xmr.dense_training import DenseTrainingConfig

logger = logging.getLogger(__name__)


def train_from_files(ontology_path: str | Path, train_paths: Sequence[str | Path], config: XMRConfig | None = None,
                     entity_types: list[str] | None = None, progress: bool = True, val_path: str | Path | None = None,
                     work_dir: str | Path | None = None, output: str | Path | None = None) -> XMRModel:
    """Train on the files; the confidence is calibrated on `val_path`'s mentions when given (else out-of-fold). With
    `progress`, each phase is logged (INFO) as it starts. `work_dir`, `output`: see `XMRModel.train`."""
    if output is not None:
        refuse_to_overwrite_input(Path(output), [Path(ontology_path), *map(Path, train_paths), val_path and Path(val_path)])
    announce = logger.info if progress else logger.debug
    announce("reading the ontology %s", ontology_path)
    ontology = read_ontology_file(ontology_path)
    announce("reading the training corpus: %s", ", ".join(map(str, train_paths)) or "none (the ontology's names alone)")
    mentions = gold_linked_mentions(train_paths, entity_types)
    validation = None
    if val_path:
        announce("reading the validation corpus %s", val_path)
        validation = gold_linked_mentions([val_path], entity_types)
        # with no mention of the types asked for, the calibration would be left to the folds, silently
        require_gold_mentions(validation, val_path, entity_types, "calibrate the confidence on")
    return XMRModel.train(ontology, mentions, config, progress, validation=validation, work_dir=work_dir, output=output)


def evaluate_model(model: XMRModel, corpus_path: str | Path, top_k: int = 50, beam_size: int = 10,
                   entity_types: list[str] | None = None) -> dict:
    """acc@1, recall@k and MRR (lenient) of the model's candidates on a gold corpus."""
    from ..evaluation import evaluate_candidates

    mentions = gold_linked_mentions([corpus_path], entity_types)
    ranked = model.predict_mentions(mentions, top_k=top_k, beam_size=beam_size)
    predictions = {m.key: candidates for m, candidates in zip(mentions, ranked)}
    ks = [k for k in (1, 5, 10, 20, 50) if k <= top_k]
    return evaluate_candidates(mentions, predictions, model.ontology, ks)


def apply_to_corpus(model: XMRModel, in_path: str | Path, out_path: str | Path, top_k: int = 10, beam_size: int = 10,
                    entity_types: list[str] | None = None) -> bioc.BioCCollection:
    """Write the corpus with ranked candidates for every annotation (of `entity_types`; those of other types are
    written as they are) as BioC XML, each with the model's confidence when it is calibrated; returns what it wrote."""
    from ..corpus import read_corpus, write_bioc, write_candidates
    from ..corpus.mentions import mentions_to_link

    refuse_to_overwrite_input(Path(out_path), [Path(in_path)])
    collection = read_corpus(Path(in_path))
    mentions = mentions_to_link(collection, entity_types, Path(in_path))
    evidence, confidences = model.linked(mentions, top_k=top_k, beam_size=beam_size)
    predictions = {m.key: [(c.concept_id, c.score) for c in candidates] for m, candidates in zip(mentions, evidence)}
    confidences = confidences or []  # none when the model is not calibrated
    result = write_candidates(collection, predictions, {m.key: c for m, c in zip(mentions, confidences)})
    mark_what_the_model_learned(result, mentions, model)
    write_bioc(result, out_path)
    return result


def train_dense_encoder_from_files(ontology_path: str | Path, output: str | Path, config: DenseConfig, training: DenseTrainingConfig,
                                   train_paths: Sequence[str | Path] = (), entity_types: list[str] | None = None,
                                   progress: bool = True) -> dict:
    """Fine-tune the encoder `config.encoder` (hub name or folder) on the ontology's names and synonyms, plus the
    gold-linked mentions of `train_paths`, and save it to `output` atomically."""
    from ..xmr.dense import DenseEncoder
    from ..xmr.dense_training import train_dense_encoder
    from ..xmr.training_data import build_training_data

    local_encoder = Path(config.encoder) if Path(config.encoder).is_dir() else None
    refuse_to_overwrite_input(Path(output), [Path(ontology_path), *map(Path, train_paths), local_encoder])
    mentions = gold_linked_mentions(train_paths, entity_types)
    data = build_training_data(with_corpus_concepts(read_ontology_file(ontology_path), mentions), mentions, TrainingDataConfig())
    encoder = DenseEncoder.from_pretrained(config.encoder, config)
    summary = train_dense_encoder(encoder, data.keys, data.labels, training, progress)
    with atomic_directory(output, replaces=("config.json",)) as tmp:  # a Hugging Face model folder
        encoder.save(tmp)
    return summary
