"""Show the library's progress log lines while a long job runs.

Why: the library logs each phase of a long job as it starts (INFO on the `spacy_xmr` loggers: reading the ontology
and corpora, featurising, building each channel, calibrating), and tqdm bars show only on a terminal. A command, and
`xmr_linker`'s `initialize()` under `spacy train`, shows those lines, timed, so that a user sees what it is doing
from the first second, in a terminal or in a log file (`spacy project run`).
"""
from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from typing import Iterator


WARNING_MARK = "\u26a0"  # wasabi's warning sign


class ProgressFormatter(logging.Formatter):
    """The time, then the message; a warning marked as wasabi marks one, so that it stands out among the progress."""

    def __init__(self):
        super().__init__("%(asctime)s %(message)s", "%H:%M:%S")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        if record.levelno < logging.WARNING:
            return line
        time, _, message = line.partition(" ")
        return f"{time} {WARNING_MARK} {message}"


@contextmanager
def phases_shown(unless_configured: bool = False, level: int = logging.INFO) -> Iterator[None]:
    """Print the `spacy_xmr` loggers' lines of `level` and worse (INFO: the phases), each with the time, within the
    block: on stdout, where the command's own messages go, so they keep their order in a log file, and flushed at
    once. Every command shows the warnings so (`cli`), and a training command its phases too: within a block that
    shows them already, this one only lowers the level, so that no line is printed twice.

    `unless_configured` (a library call, not a command): where the application has set up logging (the root logger
    has handlers), its handlers get the lines instead, so that none is printed twice."""
    logger = logging.getLogger("spacy_xmr")
    saved_level = logger.level
    shown_already = any(isinstance(handler.formatter, ProgressFormatter) for handler in logger.handlers)
    handler = None
    if not shown_already and not (unless_configured and logging.getLogger().handlers):
        handler = logging.StreamHandler(sys.stdout)  # the stdout of this moment (a test runner may have replaced it)
        handler.setFormatter(ProgressFormatter())
        logger.addHandler(handler)
    if not shown_already or level < logger.getEffectiveLevel():
        logger.setLevel(level)
    try:
        yield
    finally:
        if handler is not None:
            logger.removeHandler(handler)
        logger.setLevel(saved_level)
