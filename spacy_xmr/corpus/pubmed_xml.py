"""Reader for PubMed/MEDLINE baseline and update XML (`PubmedArticleSet`, gzipped or not).

This is the file NLM ships to annotate all of PubMed (~1,200 files of ~30,000 citations). Each
`PubmedArticle` becomes a BioC document with the PMID as id, a `title` passage at offset 0 and an
`abstract` passage at len(title) + 1 (PubTator's layout, so the PubTator writer round-trips it);
abstract sections (`AbstractText` with a `Label`) are joined with one space, inline markup (`<i>`,
`<sup>`) is kept as its text. Book records (`PubmedBookArticle`) are skipped. Within one file a PMID that
appears again (a revised record) replaces the earlier one, and a PMID that the file's `DeleteCitation` lists is
left out.

The file is read a record at a time (`stream_pubmed_xml`), twice: a first pass finds each PMID's last record
and checks the XML, the second makes the documents as they are iterated.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import bioc

from ..errors import InputFormatError
from .bioc_documents import title_and_abstract
from .streams import CorpusStream
from .xml_records import XmlRecords

ROOT_TAG = "PubmedArticleSet"


def _text(element) -> str:
    """The element's text with inline markup flattened and line breaks as spaces (offsets stay stable)."""
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def _pmid(path: Path, article) -> str:
    pmid = article.findtext("MedlineCitation/PMID")
    if not pmid or not pmid.strip():
        raise InputFormatError(path, "PubmedArticle without MedlineCitation/PMID", article.sourceline)
    return pmid.strip()


def _document(pmid: str, article) -> bioc.BioCDocument:
    document = bioc.BioCDocument()
    document.id = pmid
    citation = article.find("MedlineCitation")
    title = _text(citation.find("Article/ArticleTitle"))
    abstract = " ".join(filter(None, (_text(part) for part in citation.findall("Article/Abstract/AbstractText"))))
    for passage in title_and_abstract(title, abstract):
        document.add_passage(passage)
    return document


def _articles(path: Path) -> XmlRecords:
    return XmlRecords(path, ROOT_TAG, "PubmedArticle", "PubMed XML")


def _documents(path: Path) -> Iterator[bioc.BioCDocument]:
    first_pass = _articles(path)
    last_record = {_pmid(path, article): number for number, article in enumerate(first_pass)}
    # an update file's DeleteCitation (kept under the root by the first pass) withdraws PMIDs, its own records' too
    deleted = set() if first_pass.root is None else {pmid.strip() for pmid in first_pass.root.xpath("DeleteCitation/PMID/text()")}
    for number, article in enumerate(_articles(path)):
        pmid = _pmid(path, article)
        # a revised record replaces (and moves after) the earlier one
        if last_record[pmid] == number and pmid not in deleted:
            yield _document(pmid, article)


def stream_pubmed_xml(path: str | Path) -> CorpusStream:
    """The PubmedArticle records of a PubMed XML file as documents; malformed XML raises InputFormatError with the
    line (when the first pass reaches it, before any document)."""
    return CorpusStream.of_file(Path(path), "PubMed XML", _documents)


def read_pubmed_xml(path: str | Path) -> bioc.BioCCollection:
    """Read the PubmedArticle records of a PubMed XML file; malformed XML raises InputFormatError with the line."""
    return stream_pubmed_xml(path).collection()
