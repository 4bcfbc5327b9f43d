"""`Reranker`: scores (mention in context, candidate) pairs and re-sorts XMR candidates; saved as a directory.

Directory layout (self-contained, loaded without network):
`reranker.json` (format, version, settings, marker tokens, max length, XMR score weight), `encoder/` (Hugging Face
`save_pretrained` of encoder and tokenizer, safetensors), `head.safetensors` (the scoring head),
`ontology.jsonl.gz` (the concepts whose names and synonyms represent the candidates) and, when training could fit
one, `calibration.json` (the calibrator of the confidence, `confidence.py`; a directory without it loads with no
confidence).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import torch
from tqdm import tqdm

from ..atomic import atomic_directory
from ..calibration import Calibrator
from ..errors import ConfigError, ModelLoadError, SpacyXmrError
from ..model_kinds import RERANKER_HEADER, wrong_kind
from ..ontology import Ontology
from . import markers
from .batching import collate, document_chunks, iter_sequence_batches
from .confidence import FEATURE_NAMES, confidences
from .config import RerankerConfig
from ..device import autocast, autocast_dtype, resolve_device
from .fusion import fuse
from .model import CrossEncoder
from .packing import InputBuilder, PackedSequence

if TYPE_CHECKING:
    from ..corpus.mention import Candidates, Mention

FORMAT_NAME = "spacy-xmr-reranker"
FORMAT_VERSION = 1
CONFIG_FILE, HEAD_FILE, ENCODER_DIR, ONTOLOGY_FILE = RERANKER_HEADER, "head.safetensors", "encoder", "ontology.jsonl.gz"
CALIBRATION_FILE = "calibration.json"
CHUNK_MENTIONS = 4096  # mentions packed at once by `score`


class Reranker:
    """A cross-encoder with its tokenizer, input builder and ontology, on one device."""

    def __init__(self, config: RerankerConfig, tokenizer, model: CrossEncoder, ontology: Ontology, device="auto"):
        self.config = config
        self.tokenizer = tokenizer
        self.model = model
        self.ontology = ontology
        self.device = resolve_device(device)
        self.model.to(self.device)
        self.precision = config.precision
        self.xmr_weight = 0.0  # weight of the XMR score in the final score, tuned on validation data by training
        self.calibrator: Calibrator | None = None  # fitted on validation data by training; see `confidence`
        self.max_length = _max_length(config, model)
        self.builder = InputBuilder(tokenizer, config, ontology, self.max_length)

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def from_encoder(cls, config: RerankerConfig, ontology: Ontology, device="auto", local_files_only: bool = False,
                     encoder=None) -> "Reranker":
        """A new reranker on top of a Hugging Face encoder (`config.model_name`: hub name or local path).

        `encoder`, a transformers model, replaces the weights of `config.model_name` (whose tokenizer is still
        used): an encoder built or initialised by the caller, e.g. another architecture's shape for timing.
        """
        from transformers import AutoModel, AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(config.model_name, local_files_only=local_files_only)
            if encoder is None:  # fp32 master weights whatever the checkpoint's dtype: mixed precision is autocast's job
                encoder = AutoModel.from_pretrained(config.model_name, local_files_only=local_files_only, dtype=torch.float32)
        except (OSError, ValueError) as err:
            raise ModelLoadError(f"cannot load the encoder {config.model_name!r} (a Hugging Face model name or a local "
                                 f"directory with config.json and weights): {err}") from err
        markers.add_marker_tokens(tokenizer, config.max_mentions_per_sequence)
        if encoder.get_input_embeddings().num_embeddings < len(tokenizer):  # room for the marker tokens
            encoder.resize_token_embeddings(len(tokenizer))
        return cls(config, tokenizer, CrossEncoder(encoder), ontology, device)

    # ---- inference ----------------------------------------------------------------------
    def score(self, mentions: Sequence["Mention"], candidate_ids: Sequence[Sequence[str]], batch_size: int = 32,
              progress: bool = False, chunk_mentions: int = CHUNK_MENTIONS) -> list[list[float]]:
        """The cross-encoder score of every (mention, candidate), in the order given.

        Mentions are packed `chunk_mentions` at a time (whole documents): a corpus of millions of pairs never
        holds all its packed sequences at once. Each chunk's scores are read back once, after its last batch,
        so the host packs the next batch while the device runs this one.
        """
        if len(mentions) != len(candidate_ids):
            raise SpacyXmrError(f"score: {len(mentions)} mentions but {len(candidate_ids)} candidate lists")
        scores = [[float("nan")] * len(ids) for ids in candidate_ids]
        self.model.eval()
        bar = tqdm(total=sum(map(len, candidate_ids)), desc="rerank", unit="pair", disable=None if progress else True)
        with bar, torch.inference_mode():
            for chunk in document_chunks([mention.document_id for mention in mentions], chunk_mentions):
                groups, _ = self.builder.build([mentions[i] for i in chunk], [candidate_ids[i] for i in chunk])
                outputs = []
                for sequences in iter_sequence_batches(groups, batch_size):
                    batch = self.collate(sequences)
                    with autocast(self.device, autocast_dtype(self.precision, self.device)):
                        outputs.append((batch["slot_mention"], batch["slot_candidate"], self.model(batch)))
                    bar.update(len(batch["slot_mention"]))
                if outputs:
                    rows, columns, values = (torch.cat(parts).tolist() for parts in zip(*outputs))
                    for mention, candidate, value in zip(rows, columns, values):
                        scores[chunk[mention]][candidate] = value
        return scores

    def collate(self, sequences: Sequence[PackedSequence]) -> dict:
        """Collated tensors of these sequences, on the reranker's device."""
        return collate(sequences, self.config.attention == "isolated", self.tokenizer.pad_token_id, self.model.position_offset, self.device)

    def rerank(self, mentions: Sequence["Mention"], candidates: Sequence[Candidates], batch_size: int = 32,
               progress: bool = False) -> list[Candidates]:
        """Each mention's candidates re-sorted by cross-encoder score plus `xmr_weight` * their XMR score (best first)."""
        ids = [[concept_id for concept_id, _ in ranked] for ranked in candidates]
        return fuse(candidates, self.score(mentions, ids, batch_size=batch_size, progress=progress), self.xmr_weight)

    def list_length_problem(self, candidates: Sequence[Candidates]) -> str | None:
        """Why `candidates` are reranked less well than they could be: lists longer or shorter than the training's
        (the XMR weight and the calibration were fitted on those); None when they match."""
        longest = max(map(len, candidates), default=0)
        if not longest or longest == self.config.top_k:
            return None
        return (f"the candidate lists hold up to {longest} candidates and the reranker was trained on {self.config.top_k}: it "
                "reranks them all, but it scores best on lists as long as its training's")

    def confidence(self, candidates: Sequence[Candidates], reranked: Sequence[Candidates]) -> list[float] | None:
        """The probability that each mention's reranked top candidate is right, from its XMR `candidates` and the
        `reranked` lists that `rerank` returned for them; None when the reranker has no calibrator."""
        return None if self.calibrator is None else confidences(self.calibrator, candidates, reranked)

    # ---- disk format --------------------------------------------------------------------
    def save(self, directory: str | Path) -> None:
        """Write the reranker directory atomically: it appears complete or not at all."""
        from safetensors.torch import save_file

        with atomic_directory(directory, replaces=(CONFIG_FILE,)) as tmp:
            self.model.encoder.save_pretrained(tmp / ENCODER_DIR)
            self.tokenizer.save_pretrained(tmp / ENCODER_DIR)
            save_file({name: value.detach().cpu().contiguous() for name, value in self.model.head.state_dict().items()},
                      str(tmp / HEAD_FILE))
            self.ontology.to_disk(tmp / ONTOLOGY_FILE)
            if self.calibrator is not None:
                (tmp / CALIBRATION_FILE).write_text(json.dumps(self.calibrator.to_dict(), indent=2) + "\n", encoding="utf8")
            header = {
                "format": FORMAT_NAME, "format_version": FORMAT_VERSION, "crosstype": self.config.crosstype,
                "max_length": self.max_length, "n_synonyms": self.config.n_synonyms, "xmr_weight": self.xmr_weight,
                "marker_tokens": markers.marker_tokens(self.config.max_mentions_per_sequence),
                "head": HEAD_FILE, "encoder": ENCODER_DIR, "ontology": ONTOLOGY_FILE, "config": self.config.to_dict(),
            }
            (tmp / CONFIG_FILE).write_text(json.dumps(header, indent=2) + "\n", encoding="utf8")

    @classmethod
    def load(cls, directory: str | Path, device: str = "auto") -> "Reranker":
        """Load a directory written by `save` (no network); ModelLoadError says what is missing or wrong."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file
        from transformers import AutoModel, AutoTokenizer

        directory = Path(directory)
        header = _read_header(directory)
        try:
            tokenizer = AutoTokenizer.from_pretrained(directory / ENCODER_DIR, local_files_only=True)
            encoder = AutoModel.from_pretrained(directory / ENCODER_DIR, local_files_only=True, dtype=torch.float32)
            head = load_file(str(directory / HEAD_FILE))
            ontology = Ontology.from_disk(directory / ONTOLOGY_FILE)
        except (OSError, ValueError, RuntimeError, SafetensorError, SpacyXmrError) as err:
            raise ModelLoadError(f"{directory}: reranker directory is incomplete or corrupt ({err}); "
                                 "re-run `spacy-xmr train-reranker` or copy the whole directory again") from err
        model = CrossEncoder(encoder)
        try:
            model.head.load_state_dict(head)
        except RuntimeError as err:
            raise ModelLoadError(f"{directory / HEAD_FILE}: head weights do not fit the encoder ({err})") from err
        reranker = cls(header["config"], tokenizer, model, ontology, device)
        reranker.xmr_weight = header["xmr_weight"]
        reranker.calibrator = _read_calibrator(directory / CALIBRATION_FILE)
        return reranker


def _read_header(directory: Path) -> dict:
    """The parsed `reranker.json`, with "config" as a RerankerConfig."""
    path = directory / CONFIG_FILE
    if not directory.is_dir():
        raise ModelLoadError(f"{directory}: reranker directory not found (train one with `spacy-xmr train-reranker`)")
    if not path.exists():
        raise ModelLoadError(wrong_kind(directory, CONFIG_FILE))
    header = _read_json(path)
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise ModelLoadError(f"{path}: not a spacy-xmr reranker file (format {header.get('format') if isinstance(header, dict) else None!r})")
    if header.get("format_version") != FORMAT_VERSION:
        raise ModelLoadError(f"{path}: format version {header.get('format_version')!r}; this spacy-xmr reads {FORMAT_VERSION}")
    if not isinstance(header.get("xmr_weight"), (int, float)):
        raise ModelLoadError(f"{path}: field 'xmr_weight' is missing or not a number")
    try:
        header["config"] = RerankerConfig.from_dict(header.get("config", {}), source=str(path))
    except (ConfigError, TypeError) as err:
        raise ModelLoadError(f"{path}: {err}") from err
    return header


def _read_calibrator(path: Path) -> Calibrator | None:
    """The stored calibrator; None when the file is absent (no validation data to fit it on, or saved by an earlier spacy-xmr)."""
    return Calibrator.from_dict(_read_json(path), str(path), FEATURE_NAMES) if path.exists() else None


def _read_json(path: Path):
    """A JSON file of the directory; ModelLoadError when it cannot be read or parsed."""
    try:
        return json.loads(path.read_text(encoding="utf8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ModelLoadError(f"{path}: unreadable ({err})") from err


def _max_length(config: RerankerConfig, model: CrossEncoder) -> int:
    """`config.max_length`, checked against the positions the encoder has."""
    limit = getattr(model.encoder.config, "max_position_embeddings", config.max_length) - model.position_offset
    if config.max_length > limit:
        raise ConfigError(f"reranker setting max_length={config.max_length} exceeds the {limit} positions of "
                          f"{config.model_name!r}; use --max-length {limit} or less")
    return config.max_length
