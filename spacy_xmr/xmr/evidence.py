"""A batch's fused scores together with each channel's own scores, kept aligned through the steps of prediction
(chunks stacked, a mention's long form merged in), and read out per candidate as `CandidateEvidence`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from .fusion import CandidateEvidence
from .sparse_ops import place_rows, row_ids, top_k_per_row
from .string_table import StringTable


def values_at(matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The matrix's values at the cells (rows[i], cols[i]), 0 where it stores none."""
    if not len(rows):
        return np.zeros(0, dtype=np.float32)
    return np.asarray(matrix[rows, cols]).ravel()


@dataclass
class ScoredBatch:
    """queries × concepts: `fused`, the best `top_k` fused scores per query; `channels`, each channel's unweighted
    scores (empty when the caller did not ask for them)."""

    fused: sp.csr_matrix
    channels: dict[str, sp.csr_matrix]

    @classmethod
    def stacked(cls, parts: Sequence["ScoredBatch"]) -> "ScoredBatch":
        """The batches' rows one after another."""
        names = parts[0].channels if parts else {}
        return cls(sp.vstack([part.fused for part in parts], format="csr"),
                   {name: sp.vstack([part.channels[name] for part in parts], format="csr") for name in names})

    def rows(self, rows: np.ndarray) -> "ScoredBatch":
        """A batch of this batch's rows `rows` (repeats allowed), in that order."""
        return ScoredBatch(self.fused[rows], {name: matrix[rows] for name, matrix in self.channels.items()})

    def placed(self, rows: np.ndarray, n_rows: int) -> "ScoredBatch":
        """An `n_rows` batch holding this batch's rows at `rows`, empty elsewhere."""
        return ScoredBatch(place_rows(self.fused, rows, n_rows), {name: place_rows(m, rows, n_rows) for name, m in self.channels.items()})

    def merged(self, other: "ScoredBatch", top_k: int) -> "ScoredBatch":
        """Each concept at the better of its two fused scores, with the channel scores of the batch that gave it; the
        channel scores of a concept outside the kept ones (which the document channel may still offer) stay this
        batch's, so that a row's evidence never depends on whether another row of its batch was merged."""
        fused = top_k_per_row(self.fused.maximum(other.fused).tocsr(), top_k)
        if not self.channels:
            return ScoredBatch(fused, {})
        rows, cols = row_ids(fused), fused.indices
        from_other = values_at(other.fused, rows, cols) > values_at(self.fused, rows, cols)
        rows, cols = rows[from_other], cols[from_other]
        taken = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=fused.shape)
        channels = {}
        for name, matrix in self.channels.items():
            theirs = sp.csr_matrix((values_at(other.channels[name], rows, cols), (rows, cols)), shape=fused.shape)
            channels[name] = (matrix - matrix.multiply(taken) + theirs).tocsr()
            channels[name].eliminate_zeros()
        return ScoredBatch(fused, channels)

    def evidence(self, rankings: Sequence[Sequence[tuple[int, float]]], offered: Sequence[Sequence[int]],
                 concept_ids: StringTable) -> list[list[CandidateEvidence]]:
        """The candidates of `rankings` ((column, score) pairs, made from this batch, row for row) with their channel
        scores, named by `concept_ids`; a column in `offered` of its row also carries the document channel's score,
        the score it was offered at."""
        rows = np.array([row for row, ranking in enumerate(rankings) for _ in ranking], dtype=np.int64)
        cols = np.array([column for ranking in rankings for column, _ in ranking], dtype=np.int64)
        values = {name: values_at(matrix, rows, cols).tolist() for name, matrix in self.channels.items()}  # Python floats: fast to index
        names = concept_ids.at(cols)
        out, cell = [], 0
        for ranking, row_offered in zip(rankings, offered):
            candidates = []
            for column, score in ranking:
                channels = {name: float(v[cell]) for name, v in values.items() if v[cell]}
                if column in row_offered:
                    channels["document"] = score
                candidates.append(CandidateEvidence(names[cell], score, channels))
                cell += 1
            out.append(candidates)
        return out
