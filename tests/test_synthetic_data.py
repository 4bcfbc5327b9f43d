"""The synthetic ontology, corpus and model that stand in for ../shared/data: the properties other tests rely on."""
from __future__ import annotations

from synthetic import QUALIFIERS, ROOT_ID, abbreviate, synthetic_ontology, write_corpus

from spacy_xmr.ontology import Ontology


def test_a_seed_gives_the_same_ontology_and_corpus_files(synthetic_ontology_path, synthetic_corpus_dir, tmp_path):
    synthetic_ontology().to_disk(tmp_path / "ontology.jsonl.gz")
    assert (tmp_path / "ontology.jsonl.gz").read_bytes() == synthetic_ontology_path.read_bytes()
    for split, path in write_corpus(synthetic_ontology(), tmp_path).items():
        assert path.read_bytes() == (synthetic_corpus_dir / f"{split}.xml").read_bytes(), split
    assert synthetic_ontology(seed=1).ids == synthetic_ontology().ids  # ids number the concepts ...
    assert [c.name for c in synthetic_ontology(seed=1)] != [c.name for c in synthetic_ontology()]  # ... names vary


def test_the_ontology_is_a_hierarchy_with_synonyms_and_alt_ids(synthetic_ontology, synthetic_ontology_path):
    assert Ontology.from_disk(synthetic_ontology_path).ids == synthetic_ontology.ids
    roots = [concept.id for concept in synthetic_ontology if not concept.parents]
    assert roots == [ROOT_ID]
    categories = [concept for concept in synthetic_ontology if concept.parents == [ROOT_ID]]
    assert len(categories) >= 5
    for concept in synthetic_ontology:
        assert all(parent in synthetic_ontology for parent in concept.parents)
        assert concept.name not in concept.synonyms
    deeper = [c for c in synthetic_ontology if c.parents and c.parents[0] not in {ROOT_ID, *(k.id for k in categories)}]
    assert deeper  # some diseases sit below another disease
    alt = [(alt_id, concept.id) for concept in synthetic_ontology for alt_id in concept.alt_ids]
    assert alt and all(synthetic_ontology.resolve(alt_id) == concept_id for alt_id, concept_id in alt)
    synonyms = [s for concept in synthetic_ontology for s in concept.synonyms]
    assert any(", " in s for s in synonyms) and any(s.isupper() for s in synonyms)  # inverted, abbreviated
    assert any(s.split()[0] in QUALIFIERS for s in synonyms)


def test_the_corpus_has_defined_abbreviations_multi_id_gold_and_unseen_strings(synthetic_ontology, synthetic_mentions):
    train, dev = synthetic_mentions["train"], synthetic_mentions["dev"]
    assert 200 <= len(train) and 50 <= len(dev)
    assert {m.document_id for m in train}.isdisjoint({m.document_id for m in dev})
    for mention in train + dev:
        assert mention.document_text[mention.start:mention.end] == mention.text
        assert all(gold in synthetic_ontology for gold in mention.gold_ids)
    assert sum(len(m.gold_ids) > 1 for m in train) >= 3
    short_forms = [m for m in train if m.text == abbreviate(synthetic_ontology[m.gold_ids[0]].name)]
    assert any(f"({m.text})" in m.document_text for m in short_forms)
    aliases = {alias.lower() for alias, _ in synthetic_ontology.aliases()}
    assert 0.03 < sum(m.text.lower() not in aliases for m in dev) / len(dev) < 0.5  # typos and composites


def test_the_model_links_most_dev_mentions(synthetic_model, synthetic_mentions):
    dev = synthetic_mentions["dev"]
    rankings = synthetic_model.predict_mentions(dev, top_k=10)
    top1 = sum(bool(ranking) and ranking[0][0] in m.gold_ids for m, ranking in zip(dev, rankings)) / len(dev)
    top10 = sum(any(c in m.gold_ids for c, _ in ranking) for m, ranking in zip(dev, rankings)) / len(dev)
    assert 0.8 < top1 <= top10
