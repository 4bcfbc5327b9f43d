"""What a channel is, and what it is given to build, load and score."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Callable, ClassVar

import scipy.sparse as sp

from ..backend import CPU, ArrayBackend

if TYPE_CHECKING:
    from ..config import XMRConfig
    from ..example_strings import ExampleStrings
    from ..training_data import TrainingData


@dataclass
class QueryBatch:
    """The queries of one scoring call: normalised strings, how many candidates are wanted, and their feature rows
    (computed on first use: a channel of strings alone never pays for them); `backend`, where a channel's large
    products run (a GPU: `backend.py`), though every channel answers on the CPU; `earlier`, the scores of the channels
    scored before this one on these queries (in the model's channel order), which a channel may build on."""

    keys: list[str]
    featurize: Callable[[], sp.csr_matrix]
    top_k: int
    beam_size: int
    backend: ArrayBackend = CPU
    earlier: dict[str, sp.csr_matrix] = field(default_factory=dict)

    @cached_property
    def features(self) -> sp.csr_matrix:
        return self.featurize()


@dataclass
class TrainingInputs:
    """What a channel may learn from: the training data, its feature rows, the example strings and the config."""

    data: "TrainingData"
    features: sp.csr_matrix
    examples: "ExampleStrings"
    config: "XMRConfig"
    progress: bool
    n_jobs: int | None
    work_dir: str | Path | None = None  # where the channels' large temporary files go (`FeatureStore`)


@dataclass
class ModelParts:
    """What a channel may read when its model is loaded: its directory and what the model loaded before it."""

    directory: Path
    examples: "ExampleStrings"
    n_features: int
    config: "XMRConfig"


class Channel:
    """A scoring channel: one kind of evidence that scores concepts for a batch of queries (queries × concepts, each
    score in [0, 1], 0 where it has no evidence). Fusion (`fusion.py`) adds the channels' scores at their weights.

    A channel is built from the training data, saves what it learned in the model directory under file names of
    its own and loads it from there; the model knows none of its files. What it derives from those files at
    prediction (an index) it builds in `prepare`, once, before threads share it, and may save too.
    """

    name: ClassVar[str]
    whole_batch: ClassVar[bool] = False  # scores a whole call at once (an encoder batches and may hold a GPU), not by chunks

    @classmethod
    def enabled(cls, config: "XMRConfig") -> bool:
        """Whether a model trained with `config` has this channel."""
        return True

    @classmethod
    def build(cls, inputs: TrainingInputs) -> "Channel":
        raise NotImplementedError

    @classmethod
    def load(cls, parts: ModelParts) -> "Channel":
        raise NotImplementedError

    def prepare(self, config: "XMRConfig | None" = None) -> None:
        """Build what scoring derives from the stored data, for the prediction `config` (default: the trained one;
        nothing by default)."""

    def stats(self) -> dict:
        """Figures for the model's training statistics (none by default)."""
        return {}

    def score(self, queries: QueryBatch) -> sp.csr_matrix:
        raise NotImplementedError

    def save(self, directory: Path) -> None:
        """Write the channel's files (none by default: a channel of the example strings alone stores nothing)."""
