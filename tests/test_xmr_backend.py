"""The array backend seam (`spacy_xmr.xmr.backend`): numpy/scipy on the CPU, cupy only when CUDA is asked for."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp

from spacy_xmr.errors import ConfigError
from spacy_xmr.xmr import backend
from spacy_xmr.xmr.backend import CPU, array_backend


def test_the_cpu_backend_is_numpy_and_scipy_and_moves_nothing():
    assert array_backend("cpu") is CPU and CPU.xp is np and CPU.sparse is sp and not CPU.on_gpu and not CPU.on_device
    matrix = sp.csr_matrix(np.eye(3, dtype=np.float32))
    assert CPU.to_device(matrix) is matrix and CPU.to_cpu(matrix) is matrix
    with CPU.activated():
        pass


def test_a_cpu_backend_never_imports_cupy(tmp_path):
    """A stand-in cupy is importable: the CPU backend must still leave it alone."""
    (tmp_path / "cupy").mkdir()
    (tmp_path / "cupy" / "__init__.py").write_text("")
    code = ("import sys; from spacy_xmr.xmr.backend import array_backend; from spacy_xmr.xmr import XMRModel; "
            "array_backend('cpu'); assert 'cupy' not in sys.modules, 'cupy imported'")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": str(tmp_path)})


def test_auto_is_the_cpu_without_cupy(monkeypatch):
    monkeypatch.setattr(backend.importlib.util, "find_spec", lambda name: None)
    assert array_backend("auto") is CPU


def test_cuda_without_cupy_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy raises ImportError
    with pytest.raises(ConfigError, match=r"spacy-xmr\[gpu\]"):
        array_backend("cuda:0")
    with pytest.raises(ConfigError, match="device"):
        array_backend("gpu")


@pytest.mark.gpu
def test_a_matrix_goes_to_the_gpu_and_back():
    cupy = pytest.importorskip("cupy")
    if not backend._visible_gpus(cupy):
        pytest.skip("cupy sees no CUDA device")
    gpu = array_backend("cuda")
    matrix = sp.random(20, 30, density=0.2, format="csr", dtype=np.float32, random_state=0)
    on_device = gpu.to_device(matrix)
    assert gpu.on_gpu and gpu.xp is cupy and isinstance(on_device, gpu.sparse.csr_matrix)
    assert (gpu.to_cpu(on_device) != matrix).nnz == 0


def test_a_csr_matrix_goes_to_a_gpu_with_sorted_rows_and_the_callers_matrix_untouched():
    received = []
    fake_cupy = SimpleNamespace(cuda=SimpleNamespace(Device=lambda index: contextlib.nullcontext()), asarray=np.asarray)
    fake_sparse = SimpleNamespace(csr_matrix=lambda matrix: received.append(matrix) or matrix)
    gpu = backend.ArrayBackend("cuda:0", fake_cupy, fake_sparse)
    matrix = sp.random(20, 30, density=0.3, format="csr", dtype=np.float32, random_state=1)
    for row in range(matrix.shape[0]):  # unsorted rows, as scipy's products may leave them
        lo, hi = matrix.indptr[row], matrix.indptr[row + 1]
        matrix.indices[lo:hi], matrix.data[lo:hi] = matrix.indices[lo:hi][::-1].copy(), matrix.data[lo:hi][::-1].copy()
    matrix.has_sorted_indices = False
    unsorted_indices = matrix.indices.copy()
    gpu.to_device(matrix)
    assert received[0].has_sorted_indices and all(np.all(np.diff(row.indices) > 0) for row in received[0])
    assert (received[0] != matrix).nnz == 0 and np.array_equal(matrix.indices, unsorted_indices)
