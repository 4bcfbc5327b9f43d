"""The reliability diagram and the precision-coverage plot of `calibration_metrics.calibration_summary` outputs, as PNG.

Why: the project's `report` step and benchmarks/calibration.py draw the same two figures, one line per run.
matplotlib is imported only here and only when drawing (the `project` extra installs it); the package never
needs it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from .atomic import atomic_open
from .errors import SpacyXmrError


def _pyplot():
    try:
        import matplotlib
    except ImportError as err:
        raise SpacyXmrError("drawing the calibration figures needs matplotlib: pip install 'spacy-xmr[project]'") from err
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(path: Path, title: str, draw: Callable, legend: str) -> None:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(5, 4.5))
    draw(axes)
    axes.set(title=title, xlim=(0, 1), ylim=(0, 1.02))
    axes.grid(True, alpha=0.3)
    axes.legend(loc=legend, fontsize=8)
    figure.tight_layout()
    with atomic_open(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=120)
    plt.close(figure)


def reliability_diagram(runs: dict[str, dict], path: str | Path, title: str) -> None:
    """Accuracy against mean confidence per bin, one line per run, each point labelled with its bin's mentions."""
    def draw(axes) -> None:
        axes.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect calibration")
        for name, summary in runs.items():
            rows = summary["reliability"]
            axes.plot([r["mean_confidence"] for r in rows], [r["accuracy"] for r in rows], marker="o",
                      label=f"{name} (ECE {summary['expected_calibration_error']:.3f})")
            for row in rows:
                axes.annotate(str(row["n"]), (row["mean_confidence"], row["accuracy"]), fontsize=7, xytext=(3, -9),
                              textcoords="offset points")
        axes.set(xlabel="confidence (bin mean)", ylabel="accuracy of the top candidate")

    _save(Path(path), title, draw, legend="upper left")


def precision_coverage_plot(runs: dict[str, dict], path: str | Path, title: str) -> None:
    """Precision of the links kept against the share of mentions linked, as the threshold falls, one line per run."""
    def draw(axes) -> None:
        for name, summary in runs.items():
            points = summary["precision_coverage"]
            axes.plot([p["coverage"] for p in points], [p["precision"] for p in points], marker=".", label=name)
        axes.set(xlabel="coverage (share of mentions linked)", ylabel="precision of the links kept")

    _save(Path(path), title, draw, legend="lower left")
