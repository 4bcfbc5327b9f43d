"""spacy-xmr: link entities to large ontologies with an XMR tree and an optional cross-encoder.

Kept import-light on purpose: spaCy imports the factory entry points whenever a Language
is built, so nothing here may pull in torch, transformers or scikit-learn.
"""
from .about import __version__

__all__ = ["__version__", "register_extensions"]


def register_extensions() -> None:
    """Register `Span._.xmr_candidates` and `Span._.xmr_confidence` in a process that reads linked Docs back (a
    `DocBin` saved with `store_user_data=True`) without building a spacy-xmr component, which registers them."""
    from .pipeline.extensions import register_extensions as register

    register()
