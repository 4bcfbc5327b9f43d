"""What the `annotate` tests share: a small saved pipeline, input shards, and the outputs plain `nlp.pipe` gives."""
from __future__ import annotations

import json
from pathlib import Path

import spacy

from spacy_xmr.corpus import collection_to_docs
from spacy_xmr.corpus.formats import read_corpus
from spacy_xmr.distributed.manifest import MANIFEST_NAME
from spacy_xmr.distributed.outputs import without_annotations
from synthetic import ENTITY_TYPE, synthetic_collection

DOCS_PER_SHARD = 6


def save_ruler_linker_pipeline(ontology, model_dir: Path, directory: Path) -> Path:
    """A saved pipeline: an entity ruler from the ontology's aliases, then `xmr_linker` with the model in `model_dir`."""
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns([{"label": ENTITY_TYPE, "pattern": alias} for alias, _ in ontology.aliases() if len(alias) > 3])
    nlp.add_pipe("xmr_linker", config={"model": str(model_dir)})
    nlp.to_disk(directory)
    return directory


def shard_collection(ontology, seed: int):
    """The documents of shard `seed`: DOCS_PER_SHARD synthetic abstracts, ids distinct across shards."""
    return synthetic_collection(ontology, DOCS_PER_SHARD, seed=100 + seed, first_id=10_000 + 100 * seed)


def expected_ner(pipeline, paths: list[Path]) -> dict:
    """doc id -> linked entities as plain `nlp.pipe` in this process finds them (`pipeline`: folder or package)."""
    nlp = spacy.load(pipeline)
    expected = {}
    for path in paths:
        collection = read_corpus(path)
        docs = nlp.pipe(collection_to_docs(without_annotations(collection), nlp))
        for document, doc in zip(collection.documents, docs):
            expected[document.id] = [
                (ent.start_char, ent.end_char, ent.label_, ent.kb_id_, [[c, s] for c, s in ent._.xmr_candidates],
                 ent._.xmr_confidence) for ent in doc.ents
            ]
    return expected


def jsonl_entities(output_dir: Path) -> dict:
    """doc id -> entities of the JSONL outputs of an `annotate` run; fails on a document written twice."""
    found = {}
    for path in sorted(p for p in output_dir.glob("*.jsonl") if p.name != MANIFEST_NAME):
        for line in path.read_text(encoding="utf8").splitlines():
            record = json.loads(line)
            assert record["id"] not in found, f"document {record['id']} written twice"
            found[record["id"]] = [(e["start"], e["end"], e["type"], e["kb_id"], e["candidates"], e.get("confidence"))
                                   for e in record["entities"]]
    return found
