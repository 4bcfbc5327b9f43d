"""Reader for PubMed/MEDLINE baseline and update XML (`PubmedArticleSet`, gzipped or not).

This is the file NLM ships to annotate all of PubMed (~1,200 files of ~30,000 citations). Each
`PubmedArticle` becomes a BioC document with the PMID as id, a `title` passage at offset 0 and an
`abstract` passage at len(title) + 1 (PubTator's layout, so the PubTator writer round-trips it);
abstract sections (`AbstractText` with a `Label`) are joined with one space, inline markup (`<i>`,
`<sup>`) is kept as its text. Book records (`PubmedBookArticle`) and `DeleteCitation` lists are
skipped. Within one file a PMID that appears again (a revised record) replaces the earlier one.
"""
from __future__ import annotations

from pathlib import Path

import bioc
from lxml import etree

from ..errors import InputFormatError
from ..gzip_files import open_binary
from .bioc_documents import title_and_abstract

ROOT_TAG = "PubmedArticleSet"


def _text(element) -> str:
    """The element's text with inline markup flattened and line breaks as spaces (offsets stay stable)."""
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def _document(path: Path, article) -> bioc.BioCDocument:
    citation = article.find("MedlineCitation")
    pmid = citation.findtext("PMID") if citation is not None else None
    if not pmid or not pmid.strip():
        raise InputFormatError(path, "PubmedArticle without MedlineCitation/PMID", article.sourceline)
    title = _text(citation.find("Article/ArticleTitle"))
    abstract = " ".join(filter(None, (_text(part) for part in citation.findall("Article/Abstract/AbstractText"))))
    document = bioc.BioCDocument()
    document.id = pmid.strip()
    for passage in title_and_abstract(title, abstract):
        document.add_passage(passage)
    return document


def read_pubmed_xml(path: str | Path) -> bioc.BioCCollection:
    """Read the PubmedArticle records of a PubMed XML file; malformed XML raises InputFormatError with the line."""
    path = Path(path)
    if not path.exists():
        raise InputFormatError(path, "PubMed XML file not found")
    documents: dict[str, bioc.BioCDocument] = {}
    try:
        with open_binary(path) as handle:
            root_checked = False
            for event, element in etree.iterparse(handle, events=("start", "end")):
                if not root_checked:
                    if element.tag != ROOT_TAG:
                        raise InputFormatError(path, f"root element is <{element.tag}>, expected <{ROOT_TAG}>", element.sourceline)
                    root_checked = True
                elif event == "end" and element.tag == "PubmedArticle":
                    document = _document(path, element)
                    documents.pop(document.id, None)  # a revised record replaces (and moves after) the earlier one
                    documents[document.id] = document
                    element.clear(keep_tail=True)
    except etree.XMLSyntaxError as err:
        raise InputFormatError(path, f"malformed or truncated PubMed XML: {err.msg}", line=err.lineno) from err
    except (OSError, EOFError) as err:
        raise InputFormatError(path, f"cannot read PubMed XML: {err}") from err
    collection = bioc.BioCCollection()
    collection.source = path.name
    for document in documents.values():
        collection.add_document(document)
    return collection
