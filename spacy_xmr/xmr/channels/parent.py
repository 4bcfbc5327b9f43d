"""The parent channel: a concept whose children lead the ranking becomes a candidate itself.

A generic mention ("retinopathy", "immunodeficiency") shares its words with dozens of specific concepts
("Diabetic Retinopathy", "Immunodeficiency 13"), which crowd the concept it names ("Retinal Diseases",
"Immunologic Deficiency Syndromes") out of the top candidates; the ontology's own hierarchy says which concept
they have in common. Measured on NCBI Disease and BC5CDR dev (see `FusionConfig.parent_weight`), acc@1 is
unchanged and recall@10/20 rises.

It is a post-fusion channel: it reads the fused scores of the scoring channels, not the queries, so it has no
`score(queries)`; it learns nothing. What it derives from the model's ontology (the parent matrix, the root and the
top-level categories) it saves with the model, so that a loaded model links without reading its ontology file.

The ontology's root and its top-level categories ("Diseases", "Neoplasms") generalise nearly everything, so they
never enter as parents; the root is never a candidate at all. A top-level category stays a candidate where a channel
finds it from the mention's text, because corpora link to them: MEDIC's 27 categories are the gold concept of 76 of
787 NCBI Disease dev mentions ("cancer" is Neoplasms) and 119 of 4,228 BC5CDR Disease dev mentions.
`parent.exclude_top_level` bars them too, for a user who wants specific concepts only, at a cost measured by
benchmarks/top_level_categories.py (NCBI dev acc@1 0.916 → 0.830, BC5CDR 0.892 → 0.869). Parents found together never
tie: they rank by their best child's score (to `TIE_DECIMALS` decimals), then by how many of the top children they
cover, then by id order, and each is set a small step (`TIE_STEP` of its score per place) below the one before it.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import scipy.sparse as sp

from ...ontology import Ontology
from ..arrays import MATRIX_PARTS, load_arrays, matrix_arrays, matrix_from_arrays, reading, save_arrays, stored
from ..sparse_ops import max_over_mapped, row_ids, top_k_per_row

TIE_STEP = 1e-3  # a parent's score falls this share per place behind a parent that ties with it
# Best-child scores equal to this many decimals tie: float32 sums in another order (a GPU's) differ in the 7th digit,
# which would otherwise swap two parents' places and move each by a TIE_STEP of its score (~5e-4).
TIE_DECIMALS = 5
HIERARCHY_FILE = "hierarchy"  # the saved parent matrix, roots and top-level categories (older models lack it: built again)

if TYPE_CHECKING:
    from ..config import ParentConfig


def _parent_ids(ontology: Ontology, concept_id: str) -> list[str]:
    return [ontology.resolve(parent) or parent for parent in ontology[concept_id].parents]


def hierarchy_top(ontology: Ontology, concept_ids: list[str]) -> tuple[set[str], set[str]]:
    """(root, top-level categories) of a hierarchy under a single root (MEDIC's "Diseases"): the one concept without
    parents that is some concept's parent, and the concepts whose only parent it is. An ontology that is flat or has
    several such concepts (they are its categories, not a root) has neither."""
    parents = {concept_id: _parent_ids(ontology, concept_id) for concept_id in concept_ids}
    has_children = {parent for ids in parents.values() for parent in ids}
    roots = {concept_id for concept_id, ids in parents.items() if not ids and concept_id in has_children}
    if len(roots) != 1:
        return set(), set()
    top = {concept_id for concept_id, ids in parents.items() if ids and all(parent in roots for parent in ids)}
    return roots, top


def parent_matrix(ontology: Ontology, concept_ids: list[str], excluded: set[str] = frozenset()) -> sp.csr_matrix:
    """concepts × concepts, 1 where the column is a parent of the row (parents resolved through alt ids), except
    the `excluded` parents."""
    position = {concept_id: i for i, concept_id in enumerate(concept_ids)}
    rows, cols = [], []
    for row, concept_id in enumerate(concept_ids):
        for parent in _parent_ids(ontology, concept_id):
            col = position.get(parent)
            if col is not None and col != row and parent not in excluded:
                rows.append(row)
                cols.append(col)
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(concept_ids), len(concept_ids)))


def parent_scores(scores: sp.csr_matrix, parents: sp.csr_matrix, top_children: int) -> sp.csr_matrix:
    """queries × concepts: each parent of a query's `top_children` best concepts, scored as its best child and then
    stepped below the parents that tie with it (see the module docstring)."""
    children = top_k_per_row(scores, top_children)
    best = max_over_mapped(row_ids(children), children.data, parents[children.indices], scores.shape)
    if not best.nnz:
        return best
    rows = row_ids(best)
    covered = (sp.csr_matrix((np.ones_like(children.data), children.indices, children.indptr), shape=scores.shape) @ parents).tocsr()
    tied_scores = np.round(best.data, TIE_DECIMALS)
    order = np.lexsort((best.indices, -np.asarray(covered[rows, best.indices]).ravel(), -tied_scores, rows))
    place = np.empty(len(order), dtype=np.float32)
    place[order] = np.arange(len(order)) - best.indptr[rows[order]]
    best.data = best.data * (1 - TIE_STEP * place)
    return best


class ParentChannel:
    name = "parent"

    def __init__(self, ontology: Callable[[], Ontology], concept_ids: list[str], settings: "ParentConfig"):
        """`ontology()` gives the model's ontology; it is called only when the hierarchy was not saved."""
        self._ontology = ontology
        self._concept_ids = concept_ids
        self.settings = settings
        self._parents: sp.csr_matrix | None = None
        self._roots: np.ndarray | None = None
        self._top_level: np.ndarray | None = None

    def prepare(self, settings: "ParentConfig | None" = None) -> None:
        """Build the parent matrix from the ontology, once and before threads share it; `settings` (the model's
        prediction config) replace the trained ones."""
        self.settings = settings or self.settings
        if self._parents is None:
            ontology = self._ontology()
            roots, top = hierarchy_top(ontology, self._concept_ids)
            self._parents = parent_matrix(ontology, self._concept_ids, roots | top)
            self._roots, self._top_level = (np.array([i for i, concept_id in enumerate(self._concept_ids) if concept_id in ids], dtype=np.int64)
                                            for ids in (roots, top))

    def save(self, directory: Path) -> None:
        self.prepare()
        save_arrays(directory / HIERARCHY_FILE, **matrix_arrays(self._parents), roots=self._roots, top_level=self._top_level)

    def load_saved(self, directory: Path) -> None:
        """Read the hierarchy that `save` wrote in a model folder, where it did."""
        path = directory / HIERARCHY_FILE
        if stored(path):
            arrays = load_arrays(path, *MATRIX_PARTS, "roots", "top_level")
            with reading(path):
                self._parents = matrix_from_arrays(arrays)
            self._roots, self._top_level = np.asarray(arrays["roots"]), np.asarray(arrays["top_level"])

    def without_barred(self, fused: sp.csr_matrix) -> sp.csr_matrix:
        """The fused scores without the hierarchy's root (it names no disease a mention could link to), nor its
        top-level categories when `exclude_top_level` is set."""
        self.prepare()
        barred = np.concatenate([self._roots, self._top_level]) if self.settings.exclude_top_level else self._roots
        if not len(barred):
            return fused
        fused = fused.tocsr(copy=True)
        fused.data[np.isin(fused.indices, barred)] = 0
        fused.eliminate_zeros()
        return fused

    def rescore(self, fused: sp.csr_matrix) -> sp.csr_matrix:
        """queries × concepts: the parents of each query's best fused concepts, each at its best child's fused score."""
        self.prepare()
        return parent_scores(fused, self._parents, self.settings.top_children)
