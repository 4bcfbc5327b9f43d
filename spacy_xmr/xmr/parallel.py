"""Worker processes for the CPU-bound training stages that hold the GIL (liblinear fits, scikit-learn's n-gram
counting): how many CPUs this process may use, and the start method that lets workers share the parent's arrays."""
from __future__ import annotations

import multiprocessing
import os


def available_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def worker_context():
    """`fork` where the platform has it (workers see the parent's memory without copying it), else the default."""
    return multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
