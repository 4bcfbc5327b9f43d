"""`spacy-xmr annotate`: link large collections on a Ray cluster (see `spacy_xmr.distributed`).

Ray is imported only when the command runs, so the other commands never load it.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from ..errors import SpacyXmrError
from . import app, fail


@app.command("annotate")
def annotate_command(
    pipeline: str = typer.Option(..., "--pipeline", help="Saved pipeline folder or installed pipeline package (on every node)."),
    inputs: List[str] = typer.Option(..., "--input", metavar="PATH_OR_GLOB", help="Input file or glob (BioC XML/JSON, PubTator, JSONL, PubMed XML; "
                                                         "gzipped or not); repeatable. One file = one shard."),
    output: Path = typer.Option(..., "--output", file_okay=False, help="Output folder: one file per input shard and _manifest.jsonl."),
    output_format: str = typer.Option("bioc", "--format", help="Output format: bioc, pubtator or jsonl."),
    address: str = typer.Option("local", "--address", help="local (start Ray here), auto (join the running cluster) or ray://HOST:PORT."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="CPU workers, each with the pipeline loaded once (default: every CPU)."),
    batch_size: int = typer.Option(256, "--batch-size", min=1, help="Documents per nlp.pipe batch in a worker (each batch is one call of the XMR stage, which has a fixed cost; the other components, such as the NER, take at most 32 at a time, which bounds their memory)."),
    gpus_per_worker: float = typer.Option(1.0, "--gpus-per-worker", min=0.01,
                                          help="GPUs per reranker worker, when the pipeline has an xmr_reranker and the cluster has GPUs."),
    mentions: str = typer.Option("ner", "--mentions", help="ner: find mentions with the pipeline; gold: link the input's annotations."),
    entity_types: Optional[List[str]] = typer.Option(None, "--entity-type", metavar="TYPE", help="With --mentions gold: link only the input's mentions of this type (repeatable; the others are left out of the outputs)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Redo every shard instead of skipping those the manifest lists as done."),
) -> None:
    """Annotate corpus files with a linking pipeline on Ray: resumable, one atomic output file per input file."""
    try:
        from ..distributed import annotate
    except ImportError as err:
        msg.fail("annotate needs Ray", f"{err}; install it with: pip install 'spacy-xmr[distributed]'", exits=1)
    try:
        summary = annotate(pipeline, inputs, output, output_format=output_format, address=address, workers=workers,
                           batch_size=batch_size, gpus_per_worker=gpus_per_worker, mentions=mentions,
                           entity_types=entity_types or None, overwrite=overwrite)
    except (SpacyXmrError, OSError) as err:
        fail("annotate", err)
    if summary.skipped:
        msg.info(f"Skipped {summary.skipped} shard(s) already complete in {output / '_manifest.jsonl'}")
    if summary.shards:
        msg.info(f"{summary.documents} documents and {summary.mentions} mentions in {summary.seconds:.1f} s on "
                 f"{summary.workers} worker(s){' + a reranker stage' if summary.rerank_stage else ''} "
                 f"(after {summary.startup_seconds:.1f} s loading the pipeline): "
                 f"{summary.documents_per_second:.1f} documents/s, {summary.mentions_per_second:.1f} mentions/s")
    if entity_types and summary.shards and not summary.mentions:
        msg.warn(f"no mention of type {' or '.join(entity_types)} in the inputs: --entity-type must match the input's "
                 f"types as written (e.g. Disease, not disease)")
    for record in summary.failed:
        where = f"{record['input']}" + (f", line {record['line']}" if record.get("line") else "")
        msg.warn(record["error"] if where in record["error"] else f"{where}: {record['error']}")  # said once
    if summary.failed:
        msg.fail(f"{len(summary.failed)} of {summary.shards} shard(s) failed (see the manifest); rerun to retry them", exits=1)
    msg.good(f"All shards done; outputs in {output}")
