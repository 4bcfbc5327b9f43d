"""The parent channel: ontology parents of the best candidates become candidates."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from spacy_xmr.ontology import Concept, Ontology
from spacy_xmr.xmr.channels.parent import TIE_STEP, hierarchy_top, parent_matrix, parent_scores


@pytest.fixture()
def ontology():
    return Ontology([
        Concept("D1", "Retinal Diseases"),
        Concept("D2", "Diabetic Retinopathy", parents=["D1"]),
        Concept("D3", "Retinopathy of Prematurity", parents=["OLD1", "D9"]),  # an alt id of D1, and an id not in the ontology
        Concept("D4", "Eye Diseases"),
        Concept("D5", "Retinal Detachment", parents=["D1", "D4"]),
        Concept("D1b", "Retinal Disorders (old id)", alt_ids=["OLD1"]),
    ])


def test_parent_matrix_resolves_alt_ids_and_skips_unknown_parents(ontology):
    ids = ["D1", "D2", "D3", "D4", "D5", "D1b"]
    matrix = parent_matrix(ontology, ids).toarray()
    assert matrix.shape == (6, 6)
    assert {(ids[r], ids[c]) for r, c in zip(*np.nonzero(matrix))} == {("D2", "D1"), ("D3", "D1b"), ("D5", "D1"), ("D5", "D4")}


def test_parent_scores_are_the_best_childs_among_the_top_children(ontology):
    ids = ["D1", "D2", "D3", "D4", "D5", "D1b"]
    parents = parent_matrix(ontology, ids)
    scores = sp.csr_matrix(np.array([
        [0.0, 3.0, 0.0, 0.0, 2.0, 0.0],  # D2 and D5: D1 gets 3 (its best child), D4 gets 2
        [0.0, 1.0, 0.0, 0.0, 2.0, 0.0],
    ], dtype=np.float32))
    full = parent_scores(scores, parents, top_children=2).toarray()
    # row 1: D1 and D4 both have a child at 2; D1 covers two of the top children, D4 one, so D4 steps below D1
    np.testing.assert_allclose(full, [[3, 0, 0, 2 * (1 - TIE_STEP), 0, 0], [2, 0, 0, 2 * (1 - TIE_STEP), 0, 0]], rtol=1e-6)
    only_best = parent_scores(scores, parents, top_children=1).toarray()  # row 0: only D2 counts; row 1: only D5
    np.testing.assert_allclose(only_best, [[3, 0, 0, 0, 0, 0], [2, 0, 0, 2 * (1 - TIE_STEP), 0, 0]], rtol=1e-6)  # a tie: id order
    assert parent_scores(sp.csr_matrix((2, 6), dtype=np.float32), parents, 10).nnz == 0


def test_parents_whose_best_children_differ_in_the_7th_digit_keep_their_places(ontology):
    """Such differences are a GPU's summation order, not evidence. D3 (under D1b) and D5 (under D1 and D4) lead with
    about equal scores: the three parents tie and keep id order (D1, D4, D1b) whichever child is 3e-7 ahead, instead
    of D1b jumping a TIE_STEP of its score up or down."""
    ids = ["D1", "D2", "D3", "D4", "D5", "D1b"]
    parents = parent_matrix(ontology, ids)
    for d5 in (0.5 - 3e-7, 0.5, 0.5 + 3e-7):
        scores = sp.csr_matrix(np.array([[0.0, 0.0, 0.5, 0.0, d5, 0.0]], dtype=np.float32))
        got = parent_scores(scores, parents, top_children=2).toarray()[0]
        np.testing.assert_allclose(got[[0, 3, 5]], [d5, d5 * (1 - TIE_STEP), 0.5 * (1 - 2 * TIE_STEP)], rtol=1e-6)


def test_a_single_root_and_its_children_are_the_hierarchys_top_but_several_roots_are_categories(ontology):
    assert hierarchy_top(ontology, ontology.ids) == (set(), set())  # D1 and D4 both lack parents: categories, not a root
    rooted = Ontology([Concept("R", "Diseases"), *(Concept(c.id, c.name, parents=c.parents or ["R"], alt_ids=c.alt_ids) for c in ontology)])
    assert hierarchy_top(rooted, rooted.ids) == ({"R"}, {"D1", "D4", "D1b"})
    flat = Ontology([Concept("A", "a"), Concept("B", "b")])
    assert hierarchy_top(flat, flat.ids) == (set(), set())


def test_top_level_categories_stay_candidates_unless_excluded_at_load_or_in_the_linker(synthetic_model_dir, tmp_path):
    import spacy
    from spacy.tokens import Span

    from spacy_xmr.xmr import XMRModel

    model = XMRModel.load(synthetic_model_dir)
    _, categories = hierarchy_top(model.ontology, model.concept_ids)
    names = [model.ontology[category].name for category in sorted(categories)]
    assert {ranking[0][0] for ranking in model.predict(names, top_k=1)} == categories  # named by the mention: linked
    excluded = XMRModel.load(synthetic_model_dir, exclude_top_level=True)
    rankings = excluded.predict(names, top_k=20)
    assert all(ranking for ranking in rankings) and not {c for ranking in rankings for c, _ in ranking} & categories

    nlp = spacy.blank("en")
    nlp.add_pipe("xmr_linker", config={"model": str(synthetic_model_dir), "exclude_top_level": True, "threshold": None})
    nlp.to_disk(tmp_path / "nlp")
    again = spacy.load(tmp_path / "nlp")
    assert again.get_pipe("xmr_linker").cfg["exclude_top_level"] is True
    doc = again.make_doc(names[0])
    doc.ents = [Span(doc, 0, len(doc), "Disease")]
    assert again(doc).ents[0]._.xmr_candidates and not {c for c, _ in doc.ents[0]._.xmr_candidates} & categories
