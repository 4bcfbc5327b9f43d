"""`spacy-xmr explain`: why an XMR model ranks a mention's candidates as it does (`spacy_xmr.xmr.explain`)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from ..errors import SpacyXmrError
from ..model_kinds import PIPELINE_CONFIG, XMR_HEADER, component_models
from . import app, fail

FORMATS = ("text", "json", "html")


@app.command("explain")
def explain_command(
    mention: str = typer.Argument(..., help="The mention text, e.g. \"DMD\"."),
    model: Path = typer.Option(..., "--model", exists=True, file_okay=False,
                               help="Model directory from train-xmr, or a saved pipeline with one xmr_linker."),
    context: Optional[str] = typer.Option(None, "--context",
                                          help="The sentence or abstract holding the mention (abbreviations defined in it are expanded)."),
    top_k: int = typer.Option(5, "--top-k", min=1, help="Candidates to explain."),
    output_format: str = typer.Option("text", "--format", help="text, json or html (displaCy's style)."),
) -> None:
    """Show each top candidate's evidence: which channels scored it and by how much, the alias or training mention
    that matched, the n-grams that weighed most, and the calibrated confidence."""
    from ..corpus.mention import Mention
    from ..xmr import XMRModel
    from ..xmr.explain import explain_mentions

    if output_format not in FORMATS:
        msg.fail(f"--format {output_format!r}: use one of {', '.join(FORMATS)}", exits=1)
    if not mention.strip():
        msg.fail("the mention is empty: give its text, e.g. spacy-xmr explain --model DIR \"DMD\"", exits=1)
    text = context if context is not None else mention
    start = text.find(mention)
    if start < 0:
        msg.fail(f"the mention {mention!r} does not occur in --context {context!r}", exits=1)
    query = Mention("explain", "0", start, start + len(mention), mention, document_text=text, passage_end=len(text))
    linkers = component_models(model, XMR_HEADER) if (model / PIPELINE_CONFIG).is_file() else []
    if len(linkers) == 1:  # a pipeline: its linker's model
        model = linkers[0]
    try:
        explanation = explain_mentions(XMRModel.load(model), [query], top_k=top_k)[0]
    except (SpacyXmrError, OSError) as err:
        fail("explain", err)
    if output_format == "json":
        print(json.dumps(explanation.to_dict(), indent=2, ensure_ascii=False))
    elif output_format == "html":
        print(explanation.html())
    else:
        print(explanation.text())
