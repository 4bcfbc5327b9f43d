__version__ = "0.1.0"
__summary__ = "Extreme multi-label entity linking for spaCy, with cross-encoder reranking"
