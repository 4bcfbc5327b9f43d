"""`collector_paused()`: Python's cyclic garbage collector held off while a component links one batch of docs.

Why: a batch allocates tens of thousands of short-lived containers (evidence, features, candidate lists) that
reference counting frees on its own. With the collector running they still trigger its passes, and the full ones
walk every object of the process: about 0.2 s each in a spaCy process that has imported torch, and on NCBI
Disease abstracts they took a sixth of the linking time (`benchmarks/rank_ncbi_disease.py --speed`). Paused for
one batch, those containers are freed before a pass sees them; collection resumes after the batch, so the few
reference cycles a batch makes are collected then. A collector the caller disabled stays disabled. The switch is
process-wide: another thread's allocations during a batch wait for the next pass too.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def collector_paused() -> Iterator[None]:
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
