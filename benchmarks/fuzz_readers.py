"""Fuzz the corpus readers at scale: >= 10,000 mutated PubTator / BioC XML / BioC JSON files, each of which
must load or raise InputFormatError naming file and line (the mutations and the contract are those of
tests/test_fuzz_readers.py, in tests/reader_mutations.py). Prints a table per input class and writes
benchmarks/results/fuzz_readers.json; exits 1 when any case breaks the contract.

    python benchmarks/fuzz_readers.py --cases 10000 [--seed 0] [--data ../shared/data]
"""
from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import typer
from wasabi import msg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from reader_mutations import FAILURE, LOADED, MUTATIONS, check_file, real_seeds, synthetic_seeds  # noqa: E402

from spacy_xmr.atomic import atomic_open  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "fuzz_readers.json"


def _seeds(data: Path, tmp_dir: Path) -> dict[str, tuple[str, bytes]]:
    seeds = synthetic_seeds()
    ncbi, bc5cdr = data / "ncbi_disease" / "NCBItrainset_corpus.txt", data / "bc5cdr" / "CDR_DevelopmentSet.PubTator.txt"
    if ncbi.exists() and bc5cdr.exists():
        seeds.update(real_seeds(ncbi, bc5cdr, tmp_dir))
    else:
        msg.warn(f"{data} lacks NCBI Disease / BC5CDR: synthetic seeds only")
    return seeds


def main(
    cases: int = typer.Option(10_000, help="Number of mutated files to read."),
    seed: int = typer.Option(0, help="Seed of the case generator."),
    data: Path = typer.Option(ROOT.parent / "shared" / "data", help="Folder with ncbi_disease/ and bc5cdr/."),
    output: Path = typer.Option(RESULTS, help="Where the JSON table goes."),
) -> None:
    """Run the cases, print per-class counts (cases, loaded, input errors, failures) and save them."""
    rng = random.Random(seed)
    counts: dict[str, Counter] = defaultdict(Counter)
    failures: list[dict] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        seeds = _seeds(data, tmp_dir)
        path = tmp_dir / "corpus.txt"
        for _ in range(cases):
            name = rng.choice(sorted(seeds))
            mutation = rng.choice(sorted(MUTATIONS))
            case_seed = rng.randrange(2**32)
            fmt, original = seeds[name]
            path.write_bytes(MUTATIONS[mutation](original, fmt, random.Random(case_seed)))
            outcome, problem = check_file(path)
            for key in (mutation, f"seed format: {fmt}"):
                counts[key]["cases"] += 1
                counts[key]["failures"] += outcome == FAILURE
                counts[key]["loaded"] += outcome == LOADED
            if outcome == FAILURE:
                failures.append({"seed_file": name, "mutation": mutation, "case_seed": case_seed, "problem": problem})
    seconds = time.perf_counter() - started
    rows = [(key, c["cases"], c["loaded"], c["cases"] - c["loaded"] - c["failures"], c["failures"]) for key, c in counts.items()]
    rows.sort(key=lambda row: (row[0].startswith("seed format"), row[0]))
    msg.table(rows, header=("input class", "cases", "loaded", "input errors", "failures"), divider=True)
    msg.info(f"{cases} cases from {len(seeds)} seed files in {seconds:.0f} s; {len(failures)} failures")
    for failure in failures[:20]:
        msg.fail(json.dumps(failure))
    result = {
        "command": " ".join(sys.argv), "cases": cases, "seed": seed, "seconds": round(seconds, 1),
        "seed_files": sorted(seeds), "failures": len(failures), "failure_examples": failures[:50],
        "classes": [dict(zip(("input_class", "cases", "loaded", "input_errors", "failures"), row)) for row in rows],
    }
    with atomic_open(output, "w") as handle:
        json.dump(result, handle, indent=2)
    msg.good(f"wrote {output}")
    if failures:
        raise typer.Exit(1)


if __name__ == "__main__":
    typer.run(main)
