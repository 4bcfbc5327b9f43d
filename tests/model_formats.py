"""Older XMR model folder formats and a check for memory-mapped arrays, for the tests (test_xmr_arrays.py,
test_xmr_mmap.py) and benchmarks/xmr_memory.py, which compares loading a model as format 3 and as format 4."""
from __future__ import annotations

import json
import mmap
import shutil
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from spacy_xmr.xmr.arrays import MATRIX_PARTS, legacy_file
from spacy_xmr.xmr.channels.tree import BLOCKS, BY_NODE
from spacy_xmr.xmr.model import XMRModel


def memory_mapped(array: np.ndarray) -> bool:
    """Whether `array`'s memory is a file mapping (some array up its chain of bases is a memmap)."""
    while array is not None:
        if isinstance(array, (np.memmap, mmap.mmap)):
            return True
        array = getattr(array, "base", None)
    return False


def to_format_3(directory: Path) -> None:
    """Rewrite a model folder in place as format 3 wrote it: every array folder an uncompressed `.npz` file (a
    matrix as `scipy.sparse.save_npz` writes it, other arrays as `numpy.savez` does), the tree's layers without
    their weights grouped by parent."""
    for folder in [path for path in directory.iterdir() if path.is_dir() and any(path.glob("*.npy"))]:
        arrays = {path.stem: np.load(path) for path in folder.glob("*.npy") if not path.stem.startswith(BLOCKS)}
        if set(arrays) == set(MATRIX_PARTS):
            matrix = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=tuple(arrays["shape"]))
            sp.save_npz(legacy_file(folder), matrix, compressed=False)
        else:
            np.savez(legacy_file(folder), **arrays)
        shutil.rmtree(folder)
    header = json.loads((directory / "xmr.json").read_text(encoding="utf8"))
    (directory / "xmr.json").write_text(json.dumps({**header, "format_version": 3}), encoding="utf8")


def to_transposed_weights(directory: Path) -> None:
    """Rewrite a model folder in place as format 4 first wrote it: each layer of the tree with its weights transposed
    (nodes × features) in place of its weights grouped by parent."""
    layers = XMRModel.load(directory).channels["tree"].layers
    for index, layer in enumerate(layers):
        folder = directory / f"layer_{index}"
        for path in folder.glob(f"{BLOCKS}*.npy"):
            path.unlink()
        by_node = layer.weights.T.tocsr()
        for name, part in zip(MATRIX_PARTS, (by_node.data, by_node.indices, by_node.indptr, np.array(by_node.shape))):
            np.save(folder / f"{BY_NODE}{name}.npy", part)
