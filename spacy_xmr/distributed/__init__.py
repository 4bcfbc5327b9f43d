"""`spacy-xmr annotate` on Ray: shards, worker actors, manifest and outputs.

Importing this package imports Ray; the rest of spacy_xmr (and the CLI until `annotate` runs) never does.
"""
from .run import AnnotateSummary, annotate

__all__ = ["annotate", "AnnotateSummary"]
