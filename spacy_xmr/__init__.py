"""spacy-xmr: link entities to large ontologies with an XMR tree and an optional cross-encoder.

Kept import-light on purpose: spaCy imports the factory entry points whenever a Language
is built, so nothing here may pull in torch, transformers or scikit-learn.
"""
from .about import __version__

__all__ = ["__version__"]
