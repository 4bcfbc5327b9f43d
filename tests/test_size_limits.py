"""Large inputs on the small synthetic model: a 10 MB document, a 100,000-character mention, and 10,000 docs
through `nlp.pipe` in bounded memory. Each runs in seconds; the time bounds are generous, but a quadratic
step (the sentence splitter once took 300 s on the 10 MB document) would exceed them by far."""
from __future__ import annotations

import gc
import random
import sys
import time
from pathlib import Path

import bioc
import pytest
import spacy
from typer.testing import CliRunner

from spacy_xmr.cli import app
from spacy_xmr.corpus import get_candidates, read_corpus, write_bioc
from spacy_xmr.corpus.bioc_documents import iter_annotations

FILLER = ["Samples were collected at two centres. ", "The cohort was followed for five years. ",
          "Linkage analysis was performed (see Fig. 2). ", "Results are discussed below. "]
TEN_MB = 10_000_000


@pytest.fixture(scope="module")
def diseases(synthetic_ontology):
    """(name, id) of 40 leaf-level concepts: mentioned by their exact name, the model links them reliably."""
    return [(concept.name, concept.id) for concept in list(synthetic_ontology)[20:60]]


def _document_of(n_chars: int, diseases, mention_every: int) -> tuple[str, list[tuple[int, int, str]]]:
    """Filler sentences with a disease name every `mention_every` sentences; (text, [(start, end, id)])."""
    rng = random.Random(0)
    parts, mentions, size = [], [], 0
    while size < n_chars:
        parts.append(rng.choice(FILLER))
        size += len(parts[-1])
        if len(parts) % mention_every == 0:
            name, concept_id = rng.choice(diseases)
            mentions.append((size, size + len(name), concept_id))
            parts.append(f"{name}. ")
            size += len(parts[-1])
    return "".join(parts), mentions


def _bioc_collection(text: str, mentions) -> bioc.BioCCollection:
    passage = bioc.BioCPassage.of_text(text, 0)
    for number, (start, end, concept_id) in enumerate(mentions):
        annotation = bioc.BioCAnnotation()
        annotation.id, annotation.text = str(number), text[start:end]
        annotation.infons.update({"type": "Disease", "identifier": concept_id})
        annotation.add_location(bioc.BioCLocation(start, end - start))
        passage.add_annotation(annotation)
    document = bioc.BioCDocument()
    document.id = "big"
    document.add_passage(passage)
    collection = bioc.BioCCollection()
    collection.add_document(document)
    return collection


def test_a_10_mb_document_through_apply_xmr(tmp_path, synthetic_model_dir, diseases):
    text, mentions = _document_of(TEN_MB, diseases, mention_every=250)
    write_bioc(_bioc_collection(text, mentions), tmp_path / "big.xml")
    start = time.perf_counter()
    result = CliRunner().invoke(app, ["apply-xmr", "--model", str(synthetic_model_dir), "--in-corpus", str(tmp_path / "big.xml"),
                                      "--out-corpus", str(tmp_path / "pred.xml"), "--top-k", "5"])
    elapsed = time.perf_counter() - start
    assert result.exit_code == 0, result.output
    assert elapsed < 120, f"apply-xmr took {elapsed:.0f} s on a 10 MB document"
    annotations = [annotation for _, annotation in iter_annotations(read_corpus(tmp_path / "pred.xml").documents[0])]
    assert len(annotations) == len(mentions) > 1000
    linked = sum(get_candidates(a)[0][0] == a.infons["identifier"] for a in annotations)
    assert linked >= 0.9 * len(mentions)


def test_a_100000_character_mention_through_the_linker(synthetic_model_dir, diseases):
    nlp = spacy.blank("en")
    nlp.add_pipe("xmr_linker", config={"model": str(synthetic_model_dir), "top_k": 5})
    rng = random.Random(0)
    mention = " ".join(rng.choice(diseases)[0] for _ in range(10_000))[:100_000].rstrip()
    doc = nlp.make_doc(f"Patients with {mention} were examined.")
    doc.ents = [doc.char_span(14, 14 + len(mention), label="Disease")]
    start = time.perf_counter()
    doc = nlp.get_pipe("xmr_linker")(doc)
    elapsed = time.perf_counter() - start
    assert len(doc.ents[0].text) >= 99_000
    candidates = doc.ents[0]._.xmr_candidates
    assert 1 <= len(candidates) <= 5
    assert doc.ents[0].kb_id_ == candidates[0][0]
    assert candidates[0][0] in {concept_id for _, concept_id in diseases}
    assert elapsed < 60, f"linking a 100,000-character mention took {elapsed:.0f} s"


def _resident_mb() -> float:
    """The current resident set size (not the peak, which earlier tests in this process may have set)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the resident set size from /proc")
def test_10000_docs_through_nlp_pipe_in_bounded_memory(synthetic_model_dir, diseases):
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "Disease", "pattern": name} for name, _ in diseases])
    nlp.add_pipe("xmr_linker", config={"model": str(synthetic_model_dir)})
    rng = random.Random(0)
    texts = [rng.choice(FILLER) + (f"Patients with {rng.choice(diseases)[0]} were examined." if i % 10 == 0 else "")
             for i in range(500)]

    def linked_entities(n_docs: int) -> int:
        return sum(len(doc.ents) for doc in nlp.pipe(texts[i % len(texts)] for i in range(n_docs)))

    assert linked_entities(1000) == 100  # warm-up: model loaded, strings and caches filled
    gc.collect()
    warm = _resident_mb()
    assert linked_entities(10_000) == 1000
    gc.collect()
    growth_mb = _resident_mb() - warm
    # the bound is 10 %; keeping every doc alive would add about 45 MB (10 % of this process), hence 25 MB too
    assert growth_mb <= min(0.10 * warm, 25), f"resident memory grew by {growth_mb:.0f} MB (from {warm:.0f} MB) over 10,000 docs"
