"""Concept-id normalisation shared by every corpus and ontology reader."""
from __future__ import annotations

import re

from ..errors import SpacyXmrError

KNOWN_PREFIXES = ("MESH", "OMIM", "UMLS", "DO", "NCBITaxon", "CHEBI", "HP", "MONDO")
NO_ID_MARKERS = ("-1", "-")
_BARE_MESH = re.compile(r"^[CDQ]\d{6,9}$")
_BARE_UMLS = re.compile(r"^C\d{7}$")
_PREFIXED = re.compile(r"^([A-Za-z][A-Za-z0-9_]*):(.+)$")


def normalize_id(raw: str, umls: bool = False) -> str:
    """Return the canonical form of a concept id: `D008107` → `MESH:D008107`, `OMIM:…` unchanged.

    `umls=True` reads bare `C0000000` ids as UMLS CUIs instead of MeSH supplementary records.
    Raises SpacyXmrError for an empty id or an unknown prefix, naming the id.
    """
    value = raw.strip()
    if not value:
        raise SpacyXmrError("empty concept id")
    if umls and _BARE_UMLS.match(value):
        return f"UMLS:{value}"
    if _BARE_MESH.match(value):
        return f"MESH:{value}"
    if value.isdigit():
        return f"OMIM:{value}"
    match = _PREFIXED.match(value)
    if match:
        prefix, local = match.groups()
        canonical = next((p for p in KNOWN_PREFIXES if p.lower() == prefix.lower()), None)
        if canonical is None:
            raise SpacyXmrError(
                f"concept id {raw!r} has the unknown prefix {prefix!r}; known prefixes: {', '.join(KNOWN_PREFIXES)}"
            )
        return f"{canonical}:{local}"
    raise SpacyXmrError(f"concept id {raw!r} is neither a MeSH id (D…/C…), an OMIM number nor a PREFIX:ID")


def split_gold_ids(field: str) -> list[str]:
    """Split a PubTator/BioC identifier field (`D1|D2`, `D1+D2`, `D1,D2`) into its ids, dropping the
    no-id markers `-1` (PubTator, BC5CDR) and `-` (NLM-Chem)."""
    parts = (p.strip() for p in re.split(r"[|+,;]", field))
    return [p for p in parts if p and p not in NO_ID_MARKERS]
