"""The XMR model's dense channel on the dev sets: an encoder as given, and fine-tuned on MEDIC's synonyms with
`spacy-xmr train-dense-encoder`'s recipe (SapBERT's self-alignment), at several channel weights.

    python benchmarks/dense_channel.py --encoder benchmarks/work/minilm --device cuda \\
        --finetune 0 --finetune 1:2e-5 --finetune 3:5e-5 --weights 0,1,2,3,4 --save-best benchmarks/work/minilm-medic

One XMR model (without the channel) is trained per dataset (NCBI Disease train → dev; BC5CDR train less dev →
dev); each encoder then embeds that model's example strings, and the channel is attached to it, so every row
differs only in the encoder and the weight. `--finetune E:LR` fine-tunes on every MEDIC string for E epochs at
learning rate LR (`0` keeps the encoder as given); the encoder is trained on the ontology alone, no corpus
mention, so one encoder serves both datasets. `--save-best` keeps the encoder with the best mean dev acc@1
(fp16 safetensors). Fine-tuning MiniLM-L6 takes about 25 min per epoch on 2 CPU cores, seconds on a GPU.
Writes benchmarks/results/dense_channel_dev.json.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from xmr_ncbi_disease import REPO, TOP_K, model_metrics, train_and_evaluation_mentions  # noqa: E402

from spacy_xmr.atomic import atomic_directory  # noqa: E402
from spacy_xmr.ontology import read_medic  # noqa: E402
from spacy_xmr.xmr import XMRConfig, XMRModel  # noqa: E402
from spacy_xmr.xmr.config import DenseConfig, TrainingDataConfig  # noqa: E402
from spacy_xmr.xmr.channels import DenseChannel  # noqa: E402
from spacy_xmr.xmr.dense import DenseEncoder, DenseIndex  # noqa: E402
from spacy_xmr.xmr.dense_training import DenseTrainingConfig, train_dense_encoder  # noqa: E402
from spacy_xmr.xmr.training_data import build_training_data  # noqa: E402

DATASETS = ("ncbi_disease", "bc5cdr_disease")


def encoders(base: str, settings: list[str], ontology, config: DenseConfig):
    """(name, encoder, fine-tuning summary) per `--finetune` setting, each fine-tuned one from `base` afresh."""
    data = build_training_data(ontology, [], TrainingDataConfig())
    for setting in settings:
        epochs, _, lr = setting.partition(":")
        encoder = DenseEncoder.from_pretrained(base, config)
        if int(epochs) == 0:
            yield "as given", encoder, None
            continue
        summary = train_dense_encoder(encoder, data.keys, data.labels, DenseTrainingConfig(epochs=int(epochs), lr=float(lr or 2e-5)))
        yield f"fine-tuned {epochs} epoch(s), lr {lr or '2e-5'}", encoder, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--encoder", required=True, help="Hugging Face encoder name or folder")
    parser.add_argument("--pooling", default="mean", choices=("mean", "cls"))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--finetune", action="append", default=None, help="E:LR (repeatable); 0 = the encoder as given")
    parser.add_argument("--weights", default="0,1,2,3,4", help="fusion.dense_weight values")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--save-best", type=Path, help="folder for the encoder with the best mean dev acc@1 (fp16)")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "dense_channel_dev.json")
    args = parser.parse_args()

    ontology = read_medic(args.data_dir / "medic" / "CTD_diseases.tsv.gz")
    base_config = XMRConfig.from_json(REPO / "projects" / "configs" / "xmr.json")
    dense_config = DenseConfig(encoder=args.encoder, pooling=args.pooling, device=args.device)
    weights = [float(w) for w in args.weights.split(",")]
    models = {}
    for dataset in args.datasets.split(","):
        train, dev = train_and_evaluation_mentions(args.data_dir, dataset, "dev")
        models[dataset] = (XMRModel.train(ontology, train, base_config, progress=False), dev)
    results = {"platform": platform.platform(), "encoder": args.encoder, "pooling": args.pooling, "device": args.device, "rows": []}
    best = (-1.0, None)
    for name, encoder, summary in encoders(args.encoder, args.finetune or ["0"], ontology, dense_config):
        row = {"encoder": name, "finetuning": summary, "datasets": {}}
        for dataset, (model, dev) in models.items():
            start = time.perf_counter()
            model.channels["dense"] = DenseChannel(model.examples, DenseIndex(encoder, encoder.encode(model.examples.keys), model.examples.labels))
            encode_s = time.perf_counter() - start
            by_weight = {}
            for weight in weights:
                model.configure(channel_weights={"dense": weight})
                start = time.perf_counter()
                ranked = model.predict_mentions(dev, top_k=TOP_K)
                mentions_per_s = len(dev) / (time.perf_counter() - start)
                by_weight[str(weight)] = {**model_metrics(model, dev, ontology, ranked), "mentions_per_s": mentions_per_s}
            row["datasets"][dataset] = {"encode_strings_s": encode_s, "by_weight": by_weight}
            print(name, dataset, " ".join(f"w={w}: acc@1 {m['acc_at_1']:.4f} R@20 {m['recall_at_20']:.4f}"
                                          for w, m in by_weight.items()), flush=True)
        results["rows"].append(row)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=2))  # after every encoder: an interrupted run keeps its rows
        score = np.mean([max(m["acc_at_1"] for w, m in d["by_weight"].items() if float(w) > 0 or len(weights) == 1)
                         for d in row["datasets"].values()])
        if args.save_best and score > best[0]:
            best = (score, name)
            with atomic_directory(args.save_best) as target:
                encoder.model.half().save_pretrained(target, safe_serialization=True)
                encoder.model.float()
                encoder.tokenizer.save_pretrained(target)
    results["saved"] = best[1]
    args.output.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.output}" + (f"; saved {best[1]} to {args.save_best}" if best[1] else ""))


if __name__ == "__main__":
    main()
