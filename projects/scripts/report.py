"""Write metrics/report.md, a recall@k plot and the confidence's calibration from the JSON metric files of one
project run.

Each metric file is one `spacy-xmr evaluate --metric-file` output, named on the command line as
`NAME=PATH`. Gold-mention runs and the end-to-end run (`--e2e`) get separate tables: on gold mentions
every span is given, so only the ranking counts; end to end, the NER's spans count too. A file that
does not exist (the reranker's, when vars.reranker = 0) is listed as not run. The gold-mention runs whose
predictions carried a confidence also give metrics/calibration.json (their `calibration` sections, see
spacy_xmr/evaluation.py), a reliability diagram and a precision-coverage plot.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from spacy_xmr.atomic import atomic_open
from spacy_xmr.calibration_plots import precision_coverage_plot, reliability_diagram
from spacy_xmr.pipeline.linker import DEFAULT_THRESHOLD

CALIBRATION_FILES = ("calibration.json", "calibration_reliability.png", "precision_coverage.png")


def parse_runs(specs: list[str]) -> dict[str, dict | None]:
    """NAME=PATH → {NAME: metrics or None when PATH does not exist}."""
    runs = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise typer.BadParameter(f"{spec!r}: expected NAME=PATH, e.g. xmr=metrics/gold_mentions_xmr.json")
        runs[name] = json.loads(Path(path).read_text(encoding="utf8")) if Path(path).exists() else None
    return runs


def plot_recall(runs: dict[str, dict], png: Path, title: str) -> None:
    """Recall@k (lenient) of each run against k, log-scaled k axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    all_ks: set[int] = set()
    for name, metrics in runs.items():
        ks = sorted(int(k) for k in metrics["recall_at_k"])
        all_ks.update(ks)
        axes.plot(ks, [metrics["recall_at_k"][str(k)] for k in ks], marker="o", label=name)
    axes.set_xscale("log")
    axes.set_xticks(sorted(all_ks), [str(k) for k in sorted(all_ks)])
    axes.minorticks_off()
    axes.set_xlabel("k (candidates)")
    axes.set_ylabel("recall@k (lenient)")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    with atomic_open(png, "wb") as handle:
        figure.savefig(handle, format="png", dpi=120)
    plt.close(figure)


def table(runs: dict[str, dict | None], extra: dict[str, str]) -> list[str]:
    """Markdown rows: mentions, acc@1 (strict beside it), R@k, MRR, then the `extra` e2e keys."""
    ks = sorted({int(k) for metrics in runs.values() if metrics for k in metrics["recall_at_k"]})
    header = ["run", "mentions", "acc@1", "acc@1 strict", *(f"R@{k}" for k in ks), "MRR", *extra.values()]
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, metrics in runs.items():
        if metrics is None:
            rows.append(f"| {name} | not run |" + " |" * (len(header) - 2))
            continue
        e2e = metrics.get("e2e") or {}
        cells = [name, str(metrics["n_mentions"]), f"{metrics['acc_at_1']:.4f}", f"{metrics['strict']['acc_at_1']:.4f}",
                 *(f"{metrics['recall_at_k'].get(str(k), float('nan')):.4f}" for k in ks), f"{metrics['mrr']:.4f}",
                 *(f"{e2e[key]:.4f}" for key in extra)]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _share(value: float | None) -> str:
    return "none" if value is None else f"{value:.3f}"


def calibration_section(runs: dict[str, dict | None], out_dir: Path, title: str) -> list[str]:
    """Write calibration.json and its two plots for the runs with a `calibration` section; their report.md lines."""
    calibrated = {name: metrics["calibration"] for name, metrics in runs.items() if metrics and metrics.get("calibration")}
    lines = ["## Confidence", ""]
    if not calibrated:
        for stale in CALIBRATION_FILES:  # from an earlier, calibrated run
            (out_dir / stale).unlink(missing_ok=True)
        return lines + ["No run gave a confidence (an uncalibrated model: trained on names alone).", ""]
    with atomic_open(out_dir / CALIBRATION_FILES[0]) as handle:
        json.dump({"default_threshold": DEFAULT_THRESHOLD, "runs": calibrated}, handle, indent=2)
    reliability_diagram(calibrated, out_dir / CALIBRATION_FILES[1], f"reliability, {title}")
    precision_coverage_plot(calibrated, out_dir / CALIBRATION_FILES[2], f"precision-coverage, {title}")
    any_run = next(iter(calibrated.values()))
    targets = [f"coverage at P ≥ {c['precision_target']}" for c in any_run["coverage_at_precision"]]
    header = ["run", "mentions", "acc@1", "mean confidence", f"ECE ({any_run['bins']['n_bins']} bins)", *targets]
    lines += ["`ent._.xmr_confidence` is the estimated probability that the top candidate is right. Expected "
              "calibration error (ECE): the mean gap between confidence and accuracy over equal-width confidence "
              "bins, weighted by their size; coverage at P ≥ p: the largest share of mentions that a threshold on "
              f"the confidence links at precision p or better. Figures in {CALIBRATION_FILES[0]}.", "",
              "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, summary in calibrated.items():
        cells = [name, str(summary["n"]), f"{summary['accuracy']:.4f}", f"{summary['mean_confidence']:.4f}",
                 f"{summary['expected_calibration_error']:.4f}", *(_share(c["coverage"]) for c in summary["coverage_at_precision"])]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Links kept (coverage) and their precision at each threshold on the confidence:", "",
              "| threshold | " + " | ".join(calibrated) + " |", "|---|" + "---|" * len(calibrated)]
    for index, row in enumerate(any_run["at_threshold"]):
        mark = " (default)" if row["threshold"] == DEFAULT_THRESHOLD else ""
        cells = [f"{s['at_threshold'][index]['coverage']:.3f} / {_share(s['at_threshold'][index]['precision'])}" for s in calibrated.values()]
        lines.append(f"| {row['threshold']}{mark} | " + " | ".join(cells) + " |")
    return lines + ["", f"![reliability]({CALIBRATION_FILES[1]}) ![precision-coverage]({CALIBRATION_FILES[2]})", ""]


def main(
    gold_mentions: List[str] = typer.Argument(..., help="NAME=PATH of metric files from linking gold mentions."),
    e2e: Optional[str] = typer.Option(None, "--e2e", help="NAME=PATH of the end-to-end (NER + linking) metric file."),
    out_dir: Path = typer.Option(Path("metrics"), "--out-dir", help="Where report.md and recall_at_k.png go."),
    title: str = typer.Option("spacy-xmr", "--title", help="Heading: the dataset and split."),
    ner_meta: Optional[Path] = typer.Option(None, "--ner-meta", exists=True, dir_okay=False,
                                            help="meta.json of the trained NER: its dev scores go in the report."),
    smoke: int = typer.Option(0, "--smoke", help="vars.smoke: flags the figures as smoke-sized."),
) -> None:
    """Markdown tables of acc@1, R@k, MRR (and end-to-end P/R/F), the recall@k plot, and the confidence's calibration
    (calibration.json, a reliability diagram and a precision-coverage plot)."""
    gold_runs = parse_runs(gold_mentions)
    e2e_runs = parse_runs([e2e]) if e2e else {}
    done = {f"{name} ({kind})": metrics for kind, runs in (("gold mentions", gold_runs), ("end to end", e2e_runs))
            for name, metrics in runs.items() if metrics is not None}
    if not done:
        msg.fail("None of the metric files exists", ", ".join([*gold_mentions, e2e or ""]), exits=1)
    png = out_dir / "recall_at_k.png"
    plot_recall(done, png, title)
    lines = [f"# {title}", ""]
    if smoke:
        lines += ["Smoke run (vars.smoke = 1): reduced training, the figures are not representative.", ""]
    multi = next(iter(done.values()))["n_multi_id"]
    lines += ["## Linking gold mentions", "",
              f"Lenient: a prediction matching any gold id of a mention counts ({multi} mentions have several); "
              "strict: it must match all of them.", "", *table(gold_runs, {}), ""]
    if e2e_runs:
        lines += ["## End to end (NER + linking)", "",
                  "Predicted entities count where their span matches a gold mention exactly and their top candidate "
                  "is right; acc@1 and R@k are over all gold mentions.", "",
                  *table(e2e_runs, {"precision": "P", "recall": "R", "f1": "F1"}), ""]
    if ner_meta is not None:
        performance = json.loads(ner_meta.read_text(encoding="utf8")).get("performance", {})
        scores = ", ".join(f"{key} {performance[key]:.4f}" for key in ("ents_p", "ents_r", "ents_f") if key in performance)
        lines += [f"NER alone on the dev split (spans only): {scores}.", ""]
    lines += [f"![recall@k]({png.name})", "", *calibration_section(gold_runs, out_dir, title)]
    with atomic_open(out_dir / "report.md") as handle:
        handle.write("\n".join(lines))
    msg.good(f"Wrote {out_dir / 'report.md'}, {png} and the confidence's calibration")


if __name__ == "__main__":
    typer.run(main)
