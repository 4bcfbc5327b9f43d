"""spaCy components that wrap candidate generation (`xmr_linker`) and reranking (`xmr_reranker`).

    nlp.add_pipe("xmr_linker", config={"model": "training/xmr"})           # after an NER / entity ruler
    nlp.add_pipe("xmr_reranker", config={"model": "training/reranker"})    # optional, after the linker
    nlp.add_pipe("xmr_ranker", config={"model": "training/ranker"})        # optional: learned ranking, after the linker
    doc = nlp(text); ent.kb_id_, ent._.xmr_candidates, ent._.xmr_confidence, linker.describe(ent), linker.explain(ent)

`xmr_linker` settings: model (null = fit in `nlp.initialize()` from [initialize.components.xmr_linker]
ontology / train_corpus / xmr_config), top_k, beam_size, threshold (below it: NIL; on `ent._.xmr_confidence`, the
calibrated probability that the link is right, unless threshold_on = "score"), labels, overwrite,
resolve_abbreviations, batch_size (docs per model call), spans_key, scorer. `xmr_reranker`: model,
device ("auto" | "cpu" | "cuda:N"), mentions_per_batch (a transformer batch holds about the tokens of that many
mentions), top_k, threshold, labels, overwrite, spans_key, scorer. Without an NER, evaluate on gold mentions with
`nlp.evaluate(examples_with_gold_entities(nlp, examples))`.

Import-light: the factories are loaded whenever spaCy builds a Language, so the XMR model and
the transformer reranker are imported only when a component actually loads or fits one.
"""
from .linker import XMRLinker
from .ranker import XMRRanker
from .reranker import XMRReranker
from .scoring import examples_with_gold_entities, score_candidates

__all__ = ["XMRLinker", "XMRRanker", "XMRReranker", "examples_with_gold_entities", "score_candidates"]
