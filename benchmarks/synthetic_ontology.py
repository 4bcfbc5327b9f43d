"""A seeded generator of large synthetic ontologies with disease-like names and synonyms.

Used by xmr_scale.py to measure training time, memory and throughput at 10^5–4×10^6 concepts (UMLS has about
3.3M), where no real ontology of that size ships with the project; `training_mentions` adds annotated mentions. Names combine biomedical
morphemes ("neuro" + "blastoma"), anatomy and qualifiers; synonyms reorder, drop or add
qualifiers, invert ("tumour, adrenal"), pluralise and abbreviate, as real vocabularies do.
"""
from __future__ import annotations

import random

from spacy_xmr.corpus.mention import Mention
from spacy_xmr.ontology import Concept, Ontology

ROOTS = ["cardi", "neur", "hepat", "my", "oste", "derm", "nephr", "gastr", "pulmon", "encephal", "angi", "arthr",
         "lymph", "thyr", "pancreat", "retin", "chondr", "fibr", "aden", "leuk", "erythr", "hem", "col", "mening",
         "cyst", "spondyl", "rhabd", "glomerul", "kerat", "oophor", "orch", "prostat", "cholecyst", "splen", "tend"]
SUFFIXES = ["itis", "oma", "opathy", "osis", "algia", "emia", "oplasia", "odystrophy", "osarcoma", "oblastoma",
            "omegaly", "orrhagia", "ostenosis", "osclerosis", "omalacia", "otrophy"]
ANATOMY = ["adrenal", "cerebellar", "renal", "hepatic", "cardiac", "spinal", "retinal", "cortical", "pulmonary",
           "intestinal", "cutaneous", "ocular", "skeletal", "vascular", "pancreatic", "thyroid", "ovarian", "testicular"]
QUALIFIERS = ["congenital", "familial", "hereditary", "juvenile", "adult onset", "progressive", "acute", "chronic",
              "autosomal dominant", "autosomal recessive", "x linked", "infantile", "benign", "malignant", "atypical"]
HEADS = ["syndrome", "disease", "deficiency", "disorder", "tumor", "dysplasia", "atrophy", "neoplasm"]


def _name(rng: random.Random) -> list[str]:
    words = []
    if rng.random() < 0.5:
        words.append(rng.choice(QUALIFIERS))
    if rng.random() < 0.6:
        words.append(rng.choice(ANATOMY))
    words.append(rng.choice(ROOTS) + rng.choice(SUFFIXES))
    if rng.random() < 0.4:
        words.append(rng.choice(HEADS))
    if rng.random() < 0.5:
        words.append(f"type {rng.randint(1, 12)}{rng.choice(['', 'a', 'b'])}")
    return words


def _synonyms(words: list[str], rng: random.Random) -> list[str]:
    variants = set()
    if len(words) > 1:
        variants.add(f"{words[-1]}, {' '.join(words[:-1])}")
        variants.add(" ".join(w for w in words if w not in QUALIFIERS) or words[-1])
    variants.add(" ".join(words[:-1] + [words[-1] + "s"]))
    variants.add(" ".join([rng.choice(QUALIFIERS)] + words))
    initials = "".join(w[0] for w in " ".join(words).split() if w[0].isalpha()).upper()
    if 2 <= len(initials) <= 6:
        variants.add(initials)
    name = " ".join(words)
    return sorted(v for v in variants if v != name)[: rng.randint(2, 5)]


def synthetic_ontology(n_concepts: int, seed: int = 0) -> Ontology:
    """`n_concepts` concepts with distinct names and 2–5 synonyms each; ids `UMLS:C0000000`-style."""
    rng = random.Random(seed)
    concepts, seen = [], set()
    while len(concepts) < n_concepts:
        words = _name(rng)
        name = " ".join(words)
        if name in seen:
            words.append(str(len(concepts)))  # keep names unique without unbounded retries
            name = " ".join(words)
        seen.add(name)
        concepts.append(Concept(id=f"UMLS:C{len(concepts):07d}", name=name, synonyms=_synonyms(words, rng)))
    return Ontology(concepts, name=f"synthetic-{n_concepts}-seed{seed}")


def perturbed_queries(ontology: Ontology, n: int, seed: int = 1) -> list[tuple[str, str]]:
    """(query text, concept id): aliases with a dropped word or a swapped letter, as noisy mentions."""
    rng = random.Random(seed)
    ids = ontology.ids
    queries = []
    for _ in range(n):
        concept = ontology[rng.choice(ids)]
        text = rng.choice(concept.aliases)
        words = text.split()
        if len(words) > 2 and rng.random() < 0.5:
            del words[rng.randrange(len(words))]
        elif len(text) > 6:
            i = rng.randrange(1, len(text) - 2)
            text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
            words = text.split()
        queries.append((" ".join(words), concept.id))
    return queries


def distinct_perturbed_texts(ontology: Ontology, n: int) -> list[str]:
    """Up to `n` distinct texts of `perturbed_queries` (drawn from twice as many): a batch that no cache of repeated
    queries shortens."""
    return list(dict.fromkeys(text for text, _ in perturbed_queries(ontology, 2 * n)))[:n]


def recall_at(ranked: list[list[tuple[str, float]]], concepts: list[str], k: int) -> float:
    """The share of `perturbed_queries` whose concept is among the first `k` of their `ranked` (concept, score)."""
    return sum(any(cid == concept for cid, _ in ranking[:k]) for ranking, concept in zip(ranked, concepts, strict=True)) / len(concepts)


def training_mentions(ontology: Ontology, n: int, seed: int = 2, per_document: int = 10) -> list[Mention]:
    """`n` gold-linked mentions (perturbed aliases, as `perturbed_queries` makes them, from another seed), `per_document`
    to a document: what a large annotated corpus adds to the ontology's names."""
    return [Mention(document_id=f"doc{i // per_document}", annotation_id=str(i % per_document), start=0, end=len(text), text=text,
                    gold_ids=[concept_id])
            for i, (text, concept_id) in enumerate(perturbed_queries(ontology, n, seed))]
