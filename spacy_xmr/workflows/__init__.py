"""Corpus-level workflows: train and apply the XMR model and the reranker from and to files.

They sit above both `spacy_xmr.xmr` and `spacy_xmr.rerank` (reranker training reads an XMR model's candidates
and ontology), so that neither of those packages imports the other; the CLI and benchmarks call them.
"""
