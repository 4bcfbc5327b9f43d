"""Why the XMR model ranks a mention's candidates as it does: each candidate's evidence, channel by channel.

Read from the same `channel_scores` that prediction fuses, then made concrete where that is cheap for a few
candidates: the exact string that matched (an alias or a training mention), the word key and the learned rewrite
that reached the concept, the nearest example string with its cosine and the n-grams they share that weigh most,
the tree's path with each level's matcher margin, the child a parent candidate generalises, and whether the
document offered it. An `Explanation` prints as text, a dict (JSON) or HTML in displaCy's style.
"""
from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..corpus.mention import Mention
from .abbreviations import texts_to_link
from .beam import path_factor
from .fusion import CandidateEvidence, channel_weights
from .normalize import normalize_text

if TYPE_CHECKING:
    from .model import XMRModel

TOP_NGRAMS = 5
FORM_CANDIDATES = 50  # candidates scored per form of the mention when finding which form gave a candidate its score


@dataclass
class ChannelEvidence:
    channel: str
    score: float  # the channel's own score, in [0, 1]
    weighted: float  # what it adds to the fused score (parent and document: the score they raise the candidate to)
    detail: dict = field(default_factory=dict)


@dataclass
class CandidateExplanation:
    rank: int
    concept_id: str
    name: str | None
    score: float
    query: str  # the form of the mention that gave this candidate its score (the long form of an abbreviation)
    channels: list[ChannelEvidence]
    matched: str | None  # the example string (alias or training mention) closest to the query
    top_ngrams: list[tuple[str, float]]  # the n-grams of the query that weigh most in that match


@dataclass
class Explanation:
    mention: str
    context: str
    start: int  # the mention's offsets in `context`
    end: int
    long_form: str | None  # what the mention was also linked as, when it is a short form defined in its document
    confidence: float | None
    candidates: list[CandidateExplanation]

    def to_dict(self) -> dict:
        return asdict(self)

    def text(self) -> str:
        """A plain-text report, one block per candidate."""
        confidence = "unavailable (uncalibrated model)" if self.confidence is None else f"{self.confidence:.3f}"
        lines = [f"mention: {self.mention!r}" + (f" (also linked as {self.long_form!r})" if self.long_form else ""),
                 f"confidence that #1 is right: {confidence}"]
        for candidate in self.candidates:
            lines.append(f"#{candidate.rank} {candidate.concept_id} {candidate.name or '?'}  score {candidate.score:.3f}"
                         + (f"  via {candidate.query!r}" if candidate.query != normalize_text(self.mention) else ""))
            for evidence in candidate.channels:
                detail = ", ".join(f"{key}={_short(value)}" for key, value in evidence.detail.items())
                lines.append(f"    {evidence.channel:<9} {evidence.score:.3f} (+{evidence.weighted:.3f})" + (f"  {detail}" if detail else ""))
            if candidate.matched is not None:
                grams = ", ".join(f"{gram!r} {weight:.2f}" for gram, weight in candidate.top_ngrams)
                lines.append(f"    matched {candidate.matched!r}; n-grams that weighed most: {grams}")
        return "\n".join(lines)

    def html(self) -> str:
        """The mention marked in its context as displaCy marks entities, then a table of the candidates' evidence."""
        label = self.candidates[0].name or self.candidates[0].concept_id if self.candidates else "NIL"
        if self.confidence is not None:
            label = f"{label} · {self.confidence:.2f}"
        mark = (f'<mark class="entity" style="background: #7aecec; padding: 0.45em 0.6em; margin: 0 0.25em; line-height: 1; '
                f'border-radius: 0.35em;">{html.escape(self.context[self.start:self.end])}<span style="font-size: 0.8em; '
                f'font-weight: bold; line-height: 1; border-radius: 0.35em; vertical-align: middle; margin-left: 0.5rem">'
                f'{html.escape(label)}</span></mark>')
        sentence = html.escape(self.context[:self.start]) + mark + html.escape(self.context[self.end:])
        rows = "".join(
            f"<tr><td>{c.rank}</td><td>{html.escape(c.concept_id)}</td><td>{html.escape(c.name or '')}</td><td>{c.score:.3f}</td>"
            f"<td>{'<br>'.join(html.escape(f'{e.channel} {e.score:.3f} (+{e.weighted:.3f})') for e in c.channels)}</td>"
            f"<td>{html.escape(c.matched or '')}</td><td>{html.escape(', '.join(g for g, _ in c.top_ngrams))}</td></tr>"
            for c in self.candidates)
        return (f'<div class="entities" style="line-height: 2.5; direction: ltr">{sentence}</div>'
                '<table style="font-size: 0.9em"><tr><th>#</th><th>concept</th><th>name</th><th>score</th><th>channels</th>'
                f"<th>matched</th><th>n-grams</th></tr>{rows}</table>")


def _short(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else repr(value) if isinstance(value, str) else str(value)


def explain_texts(model: "XMRModel", texts: Sequence[str], top_k: int = 5) -> list[Explanation]:
    """Explanations of the candidates that `model.predict(texts)` gives."""
    return explain_mentions(model, [Mention(f"text{i}", "0", 0, len(text), text, document_text=text) for i, text in enumerate(texts)],
                            top_k, resolve_abbreviations=False)


def explain_mentions(model: "XMRModel", mentions: Sequence[Mention], top_k: int = 5, beam_size: int | None = None,
                     resolve_abbreviations: bool = True) -> list[Explanation]:
    """Explanations of the candidates that `model.predict_mentions(mentions, top_k)` gives (mentions of one batch:
    the document channel reads them together)."""
    mentions = list(mentions)
    evidence, confidences = model.linked(mentions, top_k=top_k, beam_size=beam_size, resolve_abbreviations=resolve_abbreviations)
    long_forms = texts_to_link(mentions) if resolve_abbreviations else [m.text for m in mentions]
    explainer = _Explainer(model)
    forms_of = [[normalize_text(m.text)] + ([normalize_text(long)] if long != m.text else []) for m, long in zip(mentions, long_forms)]
    distinct = list(dict.fromkeys(form for forms in forms_of for form in forms))
    scored = model.channel_scores(distinct, top_k=FORM_CANDIDATES, beam_size=beam_size)
    score_of = {form: {c.concept_id: c.score for c in candidates} for form, candidates in zip(distinct, scored)}
    out = []
    for index, (mention, long_form, candidates, forms) in enumerate(zip(mentions, long_forms, evidence, forms_of)):
        lo, hi = (mention.sentence_start, mention.sentence_end) if mention.sentence_end else (0, len(mention.document_text))
        context, offset = mention.document_text[lo:hi], mention.start - lo
        explained = []
        for rank, candidate in enumerate(candidates, start=1):
            form = max(forms, key=lambda f: score_of[f].get(candidate.concept_id, 0.0))
            explained.append(explainer.candidate(rank, candidate, form, list(score_of[form])))
        out.append(Explanation(mention.text, context, offset, offset + len(mention.text),
                               long_form if long_form != mention.text else None,
                               None if confidences is None else confidences[index], explained))
    return out


class _Explainer:
    """Reads one model's stored strings, features and channels for the details of a candidate's evidence."""

    def __init__(self, model: "XMRModel"):
        self.model = model
        self.weights = channel_weights(model.prediction_config.fusion)
        self.concepts = model.concept_table
        by_concept = model.examples.labels.T.tocsr()
        self.strings_of = lambda column: by_concept.indices[by_concept.indptr[column]:by_concept.indptr[column + 1]]
        featurizer = model.featurizer
        self.feature_names = list(featurizer.char_block.vocabulary) + list(featurizer.word_block.vocabulary)

    def candidate(self, rank: int, candidate: CandidateEvidence, query: str, ranked: list[str]) -> CandidateExplanation:
        """`ranked`: the concepts that `query` alone reaches, best first (where a parent candidate finds its children)."""
        column = self.concepts.row(candidate.concept_id)
        concept = self.model.ontology.get(candidate.concept_id)
        features = self.model.featurizer.transform([query])
        matched, grams = self._nearest_string(features, column)
        channels = []
        for name, score in candidate.channels.items():
            weighted = score if name == "document" else self.weights[name] * score
            channels.append(ChannelEvidence(name, score, weighted, self._detail(name, query, features, column, matched, ranked)))
        return CandidateExplanation(rank, candidate.concept_id, concept.name if concept else None, candidate.score, query,
                                    sorted(channels, key=lambda e: -e.weighted), matched, grams)

    def _nearest_string(self, features, column: int) -> tuple[str | None, list[tuple[str, float]]]:
        """The concept's example string of highest TF-IDF cosine with the query, and the n-grams that weigh most in it."""
        rows = self.strings_of(column)
        if not len(rows):
            return None, []
        strings = self.model.examples.features[rows]
        cosines = (strings @ features.T).toarray().ravel()
        best = int(np.argmax(cosines))
        shared = features.multiply(strings[best]).tocsr()
        order = np.argsort(-shared.data)[:TOP_NGRAMS]
        return self.model.examples.keys[rows[best]], [(self.feature_names[shared.indices[i]], float(shared.data[i])) for i in order]

    def _detail(self, channel: str, query: str, features, column: int, matched: str | None, ranked: list[str]) -> dict:
        if channel == "exact":
            return {"string": query, "kind": "alias" if self._is_alias(query, column) else "training mention"}
        if channel == "nearest" and matched is not None:
            cosine = float(features.multiply(self.model.examples.features[self.model.examples.keys.row(matched)]).sum())
            return {"string": matched, "cosine": cosine}
        if channel == "word_key":
            return self.model.channels["word_key"].how_reached(query, column)
        if channel == "tree":
            return {"path": self._tree_path(features, column)}
        if channel == "parent":
            children = [c for c in ranked if self.model.ontology.get(c) is not None and self.concepts[column] in
                        {self.model.ontology.resolve(p) or p for p in self.model.ontology[c].parents}]
            return {"generalises": children[:self.model.parent.settings.top_children]} if children else {}
        if channel == "document":
            return {"offered": "the document's other mentions rank it first"}
        return {}

    def _is_alias(self, query: str, column: int) -> bool:
        concept = self.model.ontology.get(self.concepts[column])
        return concept is not None and any(normalize_text(alias) == query for alias in concept.aliases)

    def _tree_path(self, features, column: int) -> list[dict]:
        """Root to leaf: each level's node on the concept's path, its matcher margin and its factor of the path score."""
        tree = self.model.channels["tree"]
        nodes, node = [], column
        for layer in reversed(tree.layers):
            nodes.append(node)
            node = int(layer.clusters.indices[node])
        path = []
        for level, (layer, node) in enumerate(zip(tree.layers, reversed(nodes))):
            margin = float((features @ layer.weights[:, [node]]).sum() + layer.bias[node])
            path.append({"level": level, "node": node, "margin": round(margin, 3),
                         "factor": round(float(path_factor(np.array([margin]), tree.path_scoring)[0]), 3)})
        return path
