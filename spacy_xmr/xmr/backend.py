"""The array modules of a device: numpy and scipy.sparse on the CPU, cupy and cupyx.scipy.sparse on a CUDA GPU.

Why one seam: prediction code written against a backend's `xp` and `sparse` (`device_kernels.py`, `beam.py`, the
nearest channel), and training's label tree (`label_embedding.py`, `clustering.py`), run on the GPU by being handed the
other modules, and in the tests with numpy standing in for cupy; and cupy is imported here alone, only when a CUDA
device is asked for (or "auto" finds cupy installed), so a CPU-only install never imports it.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import threading
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable, ContextManager

import numpy as np
import scipy.sparse as sp

from ..device import parse_device
from ..errors import ConfigError

logger = logging.getLogger(__name__)
_copies_lock = threading.Lock()  # threads that score chunks of one batch share the copies
GPU_INSTALL = "pip install 'spacy-xmr[gpu]' (cupy for your CUDA version)"


@dataclass(frozen=True)
class ArrayBackend:
    """`xp` (numpy or cupy) and `sparse` (scipy.sparse or cupyx.scipy.sparse) for `device` ("cpu" or "cuda:N").

    Any other device name with numpy and scipy is a stand-in for a GPU: prediction takes the device path
    (`device_kernels.py`) with the CPU's modules, which is how the tests check that path without a GPU.
    """

    device: str
    xp: ModuleType
    sparse: ModuleType

    @property
    def on_device(self) -> bool:
        """Whether prediction takes the device path (a CUDA device, or a stand-in for one)."""
        return self.device != "cpu"

    @property
    def on_gpu(self) -> bool:
        return self.device.startswith("cuda")

    def activated(self) -> ContextManager:
        """A context in which new arrays go to this backend's device (nothing to do off a GPU)."""
        if not self.on_gpu:
            return contextlib.nullcontext()
        return self.xp.cuda.Device(int(self.device.partition(":")[2]))

    def to_device(self, value: Any) -> Any:
        """A numpy array or scipy sparse matrix on this backend's device (the same object off a GPU). A CSR matrix goes
        with its column indices sorted (a sorted copy where they are not; the caller's matrix is left as it is):
        cuSPARSE's routines expect sorted rows, and scipy's products and scikit-learn's counts may leave them unsorted."""
        if not self.on_gpu:
            return value
        if sp.issparse(value) and value.format == "csr" and not value.has_sorted_indices:
            value = value.sorted_indices()
        with self.activated():
            return self.sparse.csr_matrix(value) if sp.issparse(value) else self.xp.asarray(value)

    def to_cpu(self, value: Any) -> Any:
        """A numpy array or scipy sparse matrix from an array or matrix of this backend."""
        return value.get() if self.on_gpu else value

    def resident(self, copies: dict, name: str, build: Callable[[], Any]) -> Any:
        """What `build` copies to this GPU (a model's arrays), built on first use and kept in `copies` (the caller's
        cache): a model's arrays are gigabytes at 10^6 concepts."""
        with _copies_lock:
            if (self.device, name) not in copies:
                copies[self.device, name] = build()
            return copies[self.device, name]


CPU = ArrayBackend("cpu", np, sp)


def array_backend(device: str = "cpu") -> ArrayBackend:
    """The backend of a device setting ("auto", "cpu", "cuda" or "cuda:N"); "auto" is CUDA when cupy is installed,
    imports and sees a GPU, else the CPU. Raises ConfigError when CUDA is asked for but cupy is missing or sees no
    such device."""
    device = parse_device(device)
    if device == "cpu" or (device == "auto" and importlib.util.find_spec("cupy") is None):
        return CPU
    try:
        cupy = importlib.import_module("cupy")
        sparse = importlib.import_module("cupyx.scipy.sparse")
    except ImportError as err:
        if device == "auto":
            logger.warning("cupy is installed but does not import (%s): the XMR model runs on the CPU", err)
            return CPU
        raise ConfigError(f"device {device!r} needs cupy, which does not import ({err}): {GPU_INSTALL}") from err
    n_devices = _visible_gpus(cupy)
    if device == "auto":
        return ArrayBackend("cuda:0", cupy, sparse) if n_devices else CPU
    index = int(device.partition(":")[2] or 0)
    if index >= n_devices:
        raise ConfigError(f"device {device!r} asked for, but cupy sees {n_devices} CUDA device(s); use device cpu or auto")
    return ArrayBackend(f"cuda:{index}", cupy, sparse)


def _visible_gpus(cupy: ModuleType) -> int:
    """How many CUDA devices cupy sees (none where the driver is missing)."""
    try:
        return cupy.cuda.runtime.getDeviceCount()
    except cupy.cuda.runtime.CUDARuntimeError:
        return 0
