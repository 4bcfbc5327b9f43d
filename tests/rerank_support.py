"""Shared builders for the reranker tests: a tiny random BERT saved to disk, a toy ontology and mentions.

Holds no tests; the `test_rerank_*` and pipeline tests import it.
"""
from __future__ import annotations

import dataclasses
import math
import random
import string
from pathlib import Path

from spacy_xmr.corpus.mention import Mention
from spacy_xmr.ontology import Concept, Ontology

WORDS = ["breast", "colon", "lung", "cancer", "tumor", "disease", "syndrome", "kidney", "failure", "heart",
         "patients", "with", "the", "and", "had", "of", "in", "a", "carcinoma", "neoplasm", "renal", "cardiac"]

CONCEPTS = [
    Concept("MESH:D001943", "breast cancer", ["breast carcinoma", "breast neoplasm"]),
    Concept("MESH:D003110", "colon cancer", ["colon carcinoma", "colon tumor"]),
    Concept("MESH:D008175", "lung cancer", ["lung carcinoma", "lung tumor"], alt_ids=["MESH:D999999"]),
    Concept("MESH:D007676", "kidney failure", ["renal failure"]),
    Concept("MESH:D006333", "heart failure", ["cardiac failure"]),
    Concept("MESH:D008171", "lung disease", ["lung syndrome"]),
]


def write_tiny_bert(directory: Path) -> Path:
    """A 2-layer random BERT with a character-level WordPiece vocab, saved like a hub model."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(0)

    directory.mkdir(parents=True, exist_ok=True)
    letters = list(string.ascii_lowercase + string.digits)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ";", ".", ",", "-", *WORDS, *letters, *("##" + c for c in letters)]
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf8")
    # from the folder, not BertTokenizerFast(vocab_file=...): transformers 5 ignores that argument (every word [UNK])
    tokenizer = BertTokenizerFast.from_pretrained(directory, do_lower_case=True)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=256,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)  # deterministic training steps
    BertModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def toy_ontology() -> Ontology:
    return Ontology(CONCEPTS, name="toy")


def _document(document_id: str, sentences: list[list[tuple[str, str | None]]]) -> list[Mention]:
    """Mentions of a document built from sentences given as (text, gold id or None) pieces."""
    text, mentions, spans = "", [], []
    for sentence in sentences:
        sentence_start = len(text)
        for piece, gold in sentence:
            if text and not text.endswith(" "):
                text += " "
            if gold is not None:
                spans.append((len(text), len(text) + len(piece), piece, gold, sentence_start))
            text += piece
        text += ". "
        for start, end, piece, gold, s_start in spans:
            if s_start == sentence_start:
                mentions.append((start, end, piece, gold, sentence_start, len(text) - 1))
    return [Mention(document_id=document_id, annotation_id=str(i), start=s, end=e, text=piece, gold_ids=[gold],
                    sentence_start=ss, sentence_end=se, passage_start=0, passage_end=len(text), document_text=text)
            for i, (s, e, piece, gold, ss, se) in enumerate(mentions)]


def toy_mentions() -> list[Mention]:
    """Mentions in 3 documents: repeated surface forms in one sentence, several sentences per document."""
    ids = {c.name: c.id for c in CONCEPTS}
    return [
        *_document("d1", [[("patients with", None), ("breast cancer", ids["breast cancer"]), ("and", None),
                           ("colon cancer", ids["colon cancer"])],
                          [("the", None), ("lung tumor", ids["lung cancer"]), ("and the", None), ("lung tumor", ids["lung cancer"])]]),
        *_document("d2", [[("renal failure", ids["kidney failure"]), ("and", None), ("cardiac failure", ids["heart failure"])],
                          [("a", None), ("lung syndrome", ids["lung disease"]), ("in", None), ("breast carcinoma", ids["breast cancer"])]]),
        *_document("d3", [[("colon tumor", ids["colon cancer"]), ("had", None), ("heart failure", ids["heart failure"])]]),
    ]


def toy_candidates(mentions: list[Mention], k: int = 4) -> list[list[tuple[str, float]]]:
    """k candidates per mention, gold first for half of them, never sorted by the right answer otherwise."""
    ids = [c.id for c in CONCEPTS]
    result = []
    for index, mention in enumerate(mentions):
        others = [i for i in ids if i != mention.gold_ids[0]]
        ranked = others[index % len(others):] + others[:index % len(others)]
        ranked = ranked[: k - 1]
        ranked.insert(0 if index % 2 else k - 1, mention.gold_ids[0])
        result.append([(concept_id, 1.0 - 0.1 * rank) for rank, concept_id in enumerate(ranked)])
    return result


def copies(n: int):
    """The toy mentions `n` times over, each copy in documents of their own."""
    return [dataclasses.replace(m, document_id=f"{m.document_id}-{copy}") for copy in range(n) for m in toy_mentions()]


def synthetic_rankings(mentions, seed: int = 0):
    """XMR lists in random order, and reranked lists whose top is right more often the higher its score (probability
    sigmoid(2 s)), the second always 1 below it: evidence that a calibrator should turn into a rising confidence."""
    rng = random.Random(seed)
    candidates, reranked = [], []
    for mention in mentions:
        gold = mention.gold_ids[0]
        wrong = next(concept.id for concept in CONCEPTS if concept.id != gold)
        top_score = rng.uniform(-3, 3)
        first, second = (gold, wrong) if rng.random() < 1 / (1 + math.exp(-2 * top_score)) else (wrong, gold)
        candidates.append([(gold, 2.0), (wrong, 1.0)] if rng.random() < 0.5 else [(wrong, 2.0), (gold, 1.0)])
        reranked.append([(first, top_score), (second, top_score - 1.0)])
    return candidates, reranked
