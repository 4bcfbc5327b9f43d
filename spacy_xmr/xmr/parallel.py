"""Worker processes for the CPU-bound training stages that hold the GIL (liblinear fits, scikit-learn's n-gram
counting): how many CPUs this process may use, and the start method that lets workers share the parent's arrays."""
from __future__ import annotations

import multiprocessing
import os


def available_cpus() -> int:
    """The CPUs this process may use: its affinity mask, capped by `OMP_NUM_THREADS` where that is a positive
    number. Ray sets it to an actor's `num_cpus` (the mask still shows the whole node), so each of 16 workers on a
    16-core node runs one thread, not 16; a user's own setting caps the threads and workers the same way."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    limit = os.environ.get("OMP_NUM_THREADS", "").strip()
    return min(cpus, int(limit)) if limit.isdigit() and int(limit) > 0 else cpus


def worker_context():
    """`fork` where the platform has it (workers see the parent's memory without copying it), else the default."""
    return multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
