"""`train_reranker`: fine-tune a cross-encoder on XMR candidates, resumable, with early stopping on dev acc@1.

`output_dir` receives `model-best/` (a `Reranker` directory, written atomically whenever validation acc@1
improves; with `fuse_xmr` the XMR score weight is tuned on validation data at each epoch end, and the calibrator
of the confidence is fitted on the validation mentions' final rankings, `confidence.py`), `checkpoint/`
(the full training state, written every `checkpoint_every` steps and at each epoch end) and `training.json`
(settings, example counts and the per-epoch history).
"""
from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import torch
from tqdm import tqdm

from ..atomic import atomic_open
from ..errors import SpacyXmrError
from ..model_kinds import RERANKER_HEADER, TRAINING_BEST
from ..ontology import Ontology
from .batching import iter_group_batches
from .checkpoint import CHECKPOINT_DIR, STATE_FILE, load_checkpoint, save_checkpoint
from .confidence import fit_calibrator
from .config import RerankerConfig
from ..device import autocast, autocast_dtype
from .fusion import fuse, tune_weight
from .labels import accuracy_at_1, training_examples
from .losses import LOSSES, candidate_matrix
from .packing import PackedGroup
from .reranker import Reranker

if TYPE_CHECKING:
    from ..corpus.mention import Candidates, Mention

SUMMARY_FILE = "training.json"
# the files of an earlier training in an output folder: a run adds to (or resumes from) such a folder, never another
TRAINING_MARKERS = (SUMMARY_FILE, f"{CHECKPOINT_DIR}/{STATE_FILE}", f"{TRAINING_BEST}/{RERANKER_HEADER}")
NO_DECAY = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")


def train_reranker(config: RerankerConfig, train_mentions: Sequence["Mention"], train_candidates: Sequence[Candidates],
                   val_mentions: Sequence["Mention"], val_candidates: Sequence[Candidates], ontology: Ontology,
                   output_dir: str | Path, resume: bool = True, progress: bool = True, device: str = "auto") -> dict:
    """Train, keep the best model by validation acc@1 in `output_dir/model-best`, and return the summary.

    Without validation mentions every epoch's model is saved, uncalibrated (its confidence is None)."""
    output_dir = Path(output_dir)
    torch.manual_seed(config.seed)
    examples = training_examples(train_mentions, [[c for c, _ in ranked] for ranked in train_candidates], ontology,
                                 config.top_k, config.gold_policy, config.seed)
    if not examples.mentions:
        raise SpacyXmrError(f"no training mention is usable ({examples.counts()}): the training mentions need gold ids "
                            "and, with gold_policy='skip', a gold concept among their candidates")
    reranker = Reranker.from_encoder(config, ontology, device)
    groups, packing = reranker.builder.build(examples.mentions, examples.candidate_ids)
    epoch_batches = [_epoch_batches(groups, config, epoch) for epoch in range(config.epochs)]
    total_steps = sum(len(batches) for batches in epoch_batches)
    optimizer = _optimizer(reranker, config)
    warmup = int(config.warmup_ratio * total_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: (step + 1) / max(1, warmup) if step < warmup else max(0.0, (total_steps - step) / max(1, total_steps - warmup)))
    dtype = autocast_dtype(config.precision, reranker.device)
    scaler = torch.amp.GradScaler(reranker.device.type, enabled=dtype == torch.float16)
    val_candidates = [list(ranked)[: config.top_k] for ranked in val_candidates]

    loop = {"epoch": 0, "batch": 0, "step": 0, "best": -1.0, "bad_epochs": 0, "history": [], "finished": False, "seconds": 0.0}
    state = load_checkpoint(output_dir, config.to_dict()) if resume else None
    if state is not None:
        reranker.model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"])
        loop.update(state["loop"])
        loop["finished"] = loop["finished"] and loop["epoch"] >= config.epochs

    def checkpoint() -> None:
        save_checkpoint(output_dir, {"config": config.to_dict(), "model": reranker.model.state_dict(), "optimizer": optimizer.state_dict(),
                                     "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(), "rng": torch.get_rng_state(), "loop": loop})

    loss_function = LOSSES[config.loss]
    started = time.perf_counter() - loop["seconds"]
    while not loop["finished"] and loop["epoch"] < config.epochs:
        reranker.model.train()
        batches = epoch_batches[loop["epoch"]]
        losses = []
        bar = tqdm(batches[loop["batch"]:], desc=f"epoch {loop['epoch'] + 1}/{config.epochs}", unit="batch", disable=None if progress else True)
        for batch_groups in bar:
            losses.append(_train_step(reranker, batch_groups, examples.labels, loss_function, optimizer, scheduler, scaler, dtype))
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
            loop["batch"] += 1
            loop["step"] += 1
            if loop["step"] % config.checkpoint_every == 0:
                loop["seconds"] = time.perf_counter() - started
                checkpoint()
        val_acc, cross_encoder_acc, val_ranked = (_validate(reranker, val_mentions, val_candidates, ontology, config)
                                                  if val_mentions else (None, None, None))
        improved = val_acc is None or val_acc > loop["best"]
        if improved:
            loop["best"] = -1.0 if val_acc is None else val_acc
            reranker.calibrator = fit_calibrator(val_mentions, val_candidates, val_ranked, ontology) if val_ranked else None
            reranker.save(output_dir / TRAINING_BEST)
        loop["bad_epochs"] = 0 if improved else loop["bad_epochs"] + 1
        loop["history"].append({"epoch": loop["epoch"] + 1, "step": loop["step"], "train_loss": sum(losses) / len(losses) if losses else None,
                                "val_acc_at_1": val_acc, "val_acc_at_1_cross_encoder_only": cross_encoder_acc,
                                "xmr_weight": reranker.xmr_weight, "seconds": time.perf_counter() - started,
                                "calibration": reranker.calibrator.fitted_on if improved and reranker.calibrator else None})
        loop.update(epoch=loop["epoch"] + 1, batch=0, seconds=time.perf_counter() - started)
        loop["finished"] = loop["bad_epochs"] > config.patience or loop["epoch"] >= config.epochs
        checkpoint()

    # the first epoch at the best acc@1 saved model-best (a later tie does not replace it)
    best_epoch = next((e for e in loop["history"] if e["val_acc_at_1"] == loop["best"]), {})
    summary = {"model_dir": str((output_dir / TRAINING_BEST).resolve()),  # absolute: the summary is read from anywhere
               "config": config.to_dict(), "device": str(reranker.device),
               "steps": loop["step"], "best_val_acc_at_1": loop["best"] if val_mentions else None, "history": loop["history"],
               "xmr_weight": best_epoch.get("xmr_weight", 0.0), "calibration": best_epoch.get("calibration"),
               "train_seconds": loop["seconds"], "examples": examples.counts(),
               "packing": {"n_sequences": packing.n_sequences, "n_windowed": packing.n_windowed,
                           "n_truncated_mentions": packing.n_truncated_mentions, "n_unknown_candidates": len(packing.unknown_candidates)}}
    with atomic_open(output_dir / SUMMARY_FILE) as handle:
        json.dump(summary, handle, indent=2)
    return summary


def _validate(reranker: Reranker, mentions, candidates, ontology: Ontology, config: RerankerConfig) -> tuple[float, float, list]:
    """(acc@1 of the final ranking, acc@1 of the cross-encoder alone, the final rankings); sets the tuned XMR weight
    when fusing."""
    scores = reranker.score(mentions, [[c for c, _ in ranked] for ranked in candidates], batch_size=config.batch_size)
    alone = fuse(candidates, scores, 0.0)
    alone_accuracy = accuracy_at_1(mentions, alone, ontology)
    if not config.fuse_xmr:
        return alone_accuracy, alone_accuracy, alone
    reranker.xmr_weight, fused = tune_weight(mentions, candidates, scores, ontology)
    return fused, alone_accuracy, fuse(candidates, scores, reranker.xmr_weight)


def _epoch_batches(groups: list[PackedGroup], config: RerankerConfig, epoch: int) -> list[list[PackedGroup]]:
    """This epoch's batches: groups shuffled with a seed of (seed, epoch), so a resumed run sees the same order."""
    order = list(groups)
    random.Random(config.seed * 1000 + epoch).shuffle(order)
    return list(iter_group_batches(order, config.batch_size))


def _optimizer(reranker: Reranker, config: RerankerConfig) -> torch.optim.AdamW:
    """AdamW with no weight decay on biases and norms, and its own learning rate for the freshly initialised head."""
    encoder = list(reranker.model.encoder.named_parameters())
    return torch.optim.AdamW([
        {"params": [p for n, p in encoder if not any(k in n for k in NO_DECAY)], "lr": config.lr, "weight_decay": config.weight_decay},
        {"params": [p for n, p in encoder if any(k in n for k in NO_DECAY)], "lr": config.lr, "weight_decay": 0.0},
        {"params": list(reranker.model.head.parameters()), "lr": config.head_lr, "weight_decay": 0.0},
    ])


def _train_step(reranker: Reranker, groups, labels: list[list[int]], loss_function, optimizer, scheduler, scaler, dtype) -> float:
    batch = reranker.collate([sequence for group in groups for sequence in group.sequences])
    mention_ids, local_mention = torch.unique(batch["slot_mention"], return_inverse=True)
    width = max(len(labels[m]) for m in mention_ids.tolist())
    label_matrix = torch.tensor([labels[m] + [0] * (width - len(labels[m])) for m in mention_ids.tolist()], device=reranker.device)
    with autocast(reranker.device, dtype):
        scores = reranker.model(batch)
    loss = loss_function(*candidate_matrix(scores, local_mention, batch["slot_candidate"], label_matrix))
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(reranker.model.parameters(), 1.0)
    scaler.step(optimizer)
    scaler.update()
    scheduler.step()
    value = loss.item()
    if not math.isfinite(value):
        raise SpacyXmrError(f"training loss became {value}; lower --lr or use --precision fp32")
    return value
