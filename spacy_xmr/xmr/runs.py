"""Index arithmetic on runs: consecutive groups of a flat array given by their sizes (a CSR matrix's rows, a beam
cell's children, the candidates of each mention), done with numpy's repeat instead of a Python loop per run."""
from __future__ import annotations

import numpy as np


def places_in_runs(sizes: np.ndarray) -> np.ndarray:
    """Each element's place within its run: 0, 1, ..., sizes[0] - 1, then 0, 1, ..., sizes[1] - 1, and so on."""
    sizes = np.asarray(sizes, dtype=np.int64)
    return np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)


def run_cells(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The ranges [starts[i], starts[i] + lengths[i]), one after the other: the cells of a CSR matrix's chosen rows."""
    return np.repeat(np.asarray(starts, dtype=np.int64), lengths) + places_in_runs(lengths)
