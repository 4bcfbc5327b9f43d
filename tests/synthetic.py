"""A seeded synthetic ontology and BioC corpus, so the core behaviour is tested without ../shared/data.

Shaped like MEDIC and NCBI Disease at toy scale: MeSH-style ids (in the unused D99xxxx range) with OMIM
alt ids on some concepts, names built from medical morphemes, synonyms that invert, pluralise, drop a
qualifier or abbreviate, and a hierarchy root -> organ categories -> diseases (some under another disease).
Documents (a title and an abstract passage) mention concepts by name or synonym, define abbreviations in
the text ("... cardioma syndrome (CS) ... CS ..."), and a few composite mentions carry two gold ids.
Everything is drawn from seeded `random.Random` generators, so a seed gives the same data on every platform.
"""
from __future__ import annotations

import gzip
import random
from html import escape
from dataclasses import dataclass, field
from pathlib import Path

import bioc
from bioc import biocjson

from spacy_xmr.corpus import write_bioc
from spacy_xmr.corpus.jsonl import write_jsonl
from spacy_xmr.corpus.pubtator_writer import write_pubtator
from spacy_xmr.ontology import Concept, Ontology

ENTITY_TYPE = "Disease"
ROOT_ID = "MESH:D990000"
ORGANS = {  # category adjective -> morpheme of its diseases
    "cardiac": "cardi", "renal": "nephr", "hepatic": "hepat", "neural": "neur", "dermal": "derm",
    "skeletal": "oste", "pulmonary": "pneum", "gastric": "gastr", "vascular": "angi", "muscular": "my",
}
SUFFIXES = ["itis", "oma", "opathy", "osis", "algia", "emia", "odystrophy", "osclerosis", "omegaly", "oblastoma"]
QUALIFIERS = ["congenital", "familial", "juvenile", "progressive", "acute", "chronic", "hereditary", "atypical"]
HEADS = ["syndrome", "disease", "disorder", "deficiency"]
SENTENCES = [
    "Patients with {} were examined.",
    "We describe a family in which {} segregates.",
    "The risk of {} was higher in carriers.",
    "No case of {} was seen in the controls.",
    "Treatment did not change the course of {}.",
]
FILLER = ["Samples were collected at two centres.", "The cohort was followed for five years.",
          "Linkage analysis was performed.", "Results are discussed below."]


def synthetic_ontology(n_concepts: int = 300, seed: int = 0) -> Ontology:
    """A root, one category per organ and `n_concepts` diseases below them, with synonyms and some alt ids."""
    rng = random.Random(seed)
    concepts = [Concept(id=ROOT_ID, name="synthetic disease", synonyms=["synthetic diseases"])]
    categories = []
    for number, adjective in enumerate(ORGANS, start=1):
        categories.append(Concept(id=f"MESH:D99{number:04d}", name=f"{adjective} disease",
                                  synonyms=[f"{adjective} diseases", f"disease, {adjective}"], parents=[ROOT_ID]))
    concepts += categories
    names = {concept.name for concept in concepts}
    diseases: list[Concept] = []
    while len(diseases) < n_concepts:
        category = rng.choice(categories)
        words = _disease_words(rng, ORGANS[category.name.split()[0]])
        name = " ".join(words)
        if name in names:
            continue
        names.add(name)
        siblings = [d for d in diseases if d.parents == [category.id]]
        parent = rng.choice(siblings).id if siblings and rng.random() < 0.25 else category.id
        number = 100 + len(diseases)
        diseases.append(Concept(
            id=f"MESH:D99{number:04d}", name=name, synonyms=_synonyms(words, rng), parents=[parent],
            alt_ids=[f"OMIM:9{number:05d}"] if number % 5 == 0 else [],
        ))
    return Ontology(concepts + diseases, name=f"synthetic-{n_concepts}-seed{seed}")


def _disease_words(rng: random.Random, morpheme: str) -> list[str]:
    """[qualifier] morpheme+suffix [head] [type N]: "familial nephroma syndrome type 2"."""
    qualifier = [rng.choice(QUALIFIERS)] if rng.random() < 0.5 else []
    head = [rng.choice(HEADS)] if rng.random() < 0.5 else []
    subtype = [f"type {rng.randint(1, 4)}"] if rng.random() < 0.3 else []
    return qualifier + [morpheme + rng.choice(SUFFIXES)] + head + subtype


def _synonyms(words: list[str], rng: random.Random) -> list[str]:
    """Variants as vocabularies list them: inverted, plural, without the qualifier, abbreviated."""
    variants = []
    if len(words) > 1:
        variants.append(f"{words[-1]}, {' '.join(words[:-1])}")
    if not words[-1][-1].isdigit():
        variants.append(" ".join(words[:-1] + [_plural(words[-1])]))
    if words[0] in QUALIFIERS and len(words) > 2:
        variants.append(" ".join(words[1:]))
    variants.append(rng.choice(QUALIFIERS) + " " + " ".join(words))
    chosen = rng.sample(variants, k=min(len(variants), rng.randint(1, 3)))
    abbreviation = abbreviate(" ".join(words))
    if abbreviation and rng.random() < 0.3:
        chosen.append(abbreviation)
    return chosen


def _plural(word: str) -> str:
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


def abbreviate(name: str) -> str:
    """Upper-case initials of a name's words ("" when that gives fewer than two letters)."""
    initials = "".join(word[0] for word in name.split() if word[0].isalpha()).upper()
    return initials if len(initials) >= 2 else ""


@dataclass
class _DocumentBuilder:
    """Grows a document passage by passage, recording each mention's document offsets and gold ids."""

    document_id: str
    passages: list[tuple[int, str, list]] = field(default_factory=list)  # (offset, text, [(start, end, gold ids)])

    def add_passage(self, parts: list[str | tuple[str, list[str]]]) -> None:
        """`parts`: plain strings, or (mention text, gold ids); joined with nothing between them. Passages are
        one space apart, as PubTator's title and abstract."""
        offset = self.passages[-1][0] + len(self.passages[-1][1]) + 1 if self.passages else 0
        text, mentions = "", []
        for part in parts:
            if isinstance(part, tuple):
                mentions.append((offset + len(text), offset + len(text) + len(part[0]), part[1]))
                part = part[0]
            text += part
        self.passages.append((offset, text, mentions))

    def to_bioc(self) -> bioc.BioCDocument:
        document = bioc.BioCDocument()
        document.id = self.document_id
        number = 0
        for kind, (offset, text, mentions) in zip(("title", "abstract"), self.passages):
            passage = bioc.BioCPassage.of_text(text, offset)
            passage.infons["type"] = kind
            for start, end, ids in mentions:
                annotation = bioc.BioCAnnotation()
                annotation.id = str(number)
                annotation.text = text[start - offset:end - offset]
                annotation.add_location(bioc.BioCLocation(start, end - start))
                annotation.infons["type"] = ENTITY_TYPE
                annotation.infons["identifier"] = "|".join(ids)
                passage.add_annotation(annotation)
                number += 1
            document.add_passage(passage)
        return document


def synthetic_collection(ontology: Ontology, n_documents: int, seed: int, first_id: int = 1000) -> bioc.BioCCollection:
    """Documents mentioning `ontology`'s diseases: names, synonyms, defined abbreviations and composites."""
    rng = random.Random(seed)
    diseases = [concept for concept in ontology if concept.id != ROOT_ID and concept.parents != [ROOT_ID]]
    collection = bioc.BioCCollection()
    collection.source = f"synthetic-seed{seed}"
    collection.date = "2000-01-01"  # fixed, so a seed writes the same bytes on any day
    for number in range(first_id, first_id + n_documents):
        topic = rng.choice(diseases)
        builder = _DocumentBuilder(str(number))
        title_mention = _variant(topic, rng)
        builder.add_passage([(title_mention[0].upper() + title_mention[1:], [topic.id]), " in a large family"])
        builder.add_passage(_abstract(topic, diseases, rng))
        collection.add_document(builder.to_bioc())
    return collection


def pubmed_xml(collection: bioc.BioCCollection) -> str:
    """The title-and-abstract documents of `collection` as a PubMed XML file (`PubmedArticleSet`), one article a line."""
    articles = "".join(
        f"<PubmedArticle><MedlineCitation><PMID>{d.id}</PMID><Article><ArticleTitle>{escape(d.passages[0].text)}</ArticleTitle>"
        f"<Abstract><AbstractText>{escape(d.passages[1].text)}</AbstractText></Abstract></Article></MedlineCitation></PubmedArticle>\n"
        for d in collection.documents
    )
    return f'<?xml version="1.0"?>\n<PubmedArticleSet>\n{articles}</PubmedArticleSet>\n'


def write_pubmed_xml(collection: bioc.BioCCollection, path: Path) -> None:
    """`pubmed_xml` written to `path`, gzipped when the name ends in `.gz`."""
    data = pubmed_xml(collection).encode("utf8")
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


# A writer for each input format `read_corpus` reads, by the file name it is tested under.
CORPUS_FILE_WRITERS = {
    "bioc.xml": write_bioc,
    "bioc.json": lambda collection, path: path.write_text(biocjson.dumps(collection), encoding="utf8"),
    "pubtator.txt": write_pubtator,
    "docs.jsonl": write_jsonl,
    "pubmed.xml.gz": write_pubmed_xml,
}


def _variant(concept: Concept, rng: random.Random) -> str:
    """The name most often, else a synonym (which may be an abbreviation the ontology lists); one in eight
    with two letters swapped, as a typo that no alias matches exactly."""
    text = concept.name if rng.random() < 0.5 or not concept.synonyms else rng.choice(concept.synonyms)
    if len(text) > 6 and rng.random() < 0.125:
        i = rng.randrange(1, len(text) - 2)
        text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
    return text


def _abstract(topic: Concept, diseases: list[Concept], rng: random.Random) -> list:
    parts: list = []
    abbreviation = abbreviate(topic.name)
    if abbreviation and rng.random() < 0.4:  # define it, then use it
        parts += ["We studied ", (topic.name, [topic.id]), " (", (abbreviation, [topic.id]), ") in 12 patients. ",
                  rng.choice(FILLER), " ", (abbreviation, [topic.id]), " was confirmed by biopsy."]
    else:
        parts += _sentence((_variant(topic, rng), [topic.id]), rng)
    for other in rng.sample(diseases, k=rng.randint(1, 3)):
        parts += [" ", rng.choice(FILLER), " "] + _sentence((_variant(other, rng), [other.id]), rng)
    if rng.random() < 0.2:
        first, second = rng.sample(diseases, k=2)
        morpheme_word = next(word for word in first.name.split() if word not in QUALIFIERS)
        composite = f"{morpheme_word} and {second.name}"  # "nephritis and X syndrome": one span, two ids
        parts += [" "] + _sentence((composite, [first.id, second.id]), rng)
    return parts


def _sentence(mention: tuple[str, list[str]], rng: random.Random) -> list:
    before, after = rng.choice(SENTENCES).split("{}")
    return [before, mention, after]


SPLITS = {"train": (60, 0), "dev": (20, 1)}  # split -> (documents, seed); dev documents are numbered 2000 up
XMR_CONFIG = {"tree": {"max_leaf_size": 16, "branching_factor": 4}, "seed": 0}  # a real tree of a few levels, in seconds


def write_two_type_corpus(source: Path, path: Path, other_type: str = "Chemical") -> list[bioc.BioCAnnotation]:
    """`source` written to `path` with every third annotation retyped `other_type`; returns the annotations written."""
    from spacy_xmr.corpus import read_corpus

    collection = read_corpus(source)
    annotations = [a for d in collection.documents for p in d.passages for a in p.annotations]
    for annotation in annotations[::3]:
        annotation.infons["type"] = other_type
    write_bioc(collection, path)
    return annotations


def split_collection(ontology: Ontology, split: str) -> bioc.BioCCollection:
    n_documents, seed = SPLITS[split]
    return synthetic_collection(ontology, n_documents, seed, first_id=1000 * (seed + 1))


def write_corpus(ontology: Ontology, directory: Path) -> dict[str, Path]:
    """`train.xml` and `dev.xml` in `directory`, written with the project's own writer."""
    paths = {split: directory / f"{split}.xml" for split in SPLITS}
    for split, path in paths.items():
        write_bioc(split_collection(ontology, split), path)
    return paths


def train_model(ontology: Ontology, mentions: list):
    """An XMRModel with `XMR_CONFIG` on one process: about a second on this data."""
    from spacy_xmr.xmr import XMRConfig, XMRModel

    return XMRModel.train(ontology, mentions, XMRConfig.from_dict(XMR_CONFIG), progress=False, n_jobs=1)


def write_medic(ontology: Ontology, path: Path) -> Path:
    """The ontology as a MEDIC release file (CTD_diseases.tsv.gz columns), as users download it."""
    lines = ["# Fields:", "# DiseaseName\tDiseaseID\tAltDiseaseIDs\tDefinition\tParentIDs\tTreeNumbers\tParentTreeNumbers\tSynonyms\tSlimMappings"]
    lines += [f"{c.name}\t{c.id}\t{'|'.join(c.alt_ids)}\t\t\t\t\t{'|'.join(c.synonyms)}\t" for c in ontology]
    with gzip.open(path, "wt", encoding="utf8") as handle:
        handle.write("\n".join(lines) + "\n")
    return path
