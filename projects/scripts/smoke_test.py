"""Install the built pipeline package into a fresh virtual environment and link a sentence with it.

The venv sees the current environment's packages (spaCy, torch, spacy-xmr, pip) through a .pth file, so
nothing is downloaded (the venv gets no pip or setuptools of its own, which would shadow newer ones),
but the pipeline package itself is pip-installed from the wheel into the venv and loaded by name: this
catches a package that misses its data, a requirement, or a dependency on the training folders.
"""
from __future__ import annotations

import json
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import typer
from wasabi import msg

from spacy_xmr.atomic import atomic_open

# Runs inside the fresh venv: argv = package name, text, mention (a substring of text); prints JSON.
CHECK = r"""
import importlib, json, sys
import spacy
name, text, mention = sys.argv[1:4]
nlp = spacy.load(name)
module = importlib.import_module(name)
if not module.__file__.startswith(sys.prefix):
    sys.exit(f"{name} was loaded from {module.__file__}, not from the fresh venv {sys.prefix}")
doc = nlp(text)
predicted = [
    {"text": e.text, "label": e.label_, "kb_id": e.kb_id_, "candidates": e._.xmr_candidates[:3]} for e in doc.ents
]
start = text.index(mention)
gold = nlp.make_doc(text)
gold.ents = [gold.char_span(start, start + len(mention), label="Disease")]
for pipe_name, pipe in nlp.pipeline:
    if pipe_name != "ner":
        gold = pipe(gold)
ent = gold.ents[0]
if not ent._.xmr_candidates:
    sys.exit(f"no candidates for the given mention {mention!r}")
linked = {"text": ent.text, "kb_id": ent.kb_id_, "candidates": ent._.xmr_candidates[:3]}
print(json.dumps({"pipeline": nlp.pipe_names, "module": module.__file__, "ner_and_linking": predicted, "given_mention": linked}))
"""


def overlay_current_environment(venv_dir: Path) -> None:
    """Make the venv see this interpreter's site-packages (after its own), .pth files included."""
    purelib = subprocess.run([str(venv_python(venv_dir)), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    lines = [f"import site; site.addsitedir({path!r})" for path in site.getsitepackages()]
    Path(purelib, "_spacy_xmr_smoke_overlay.pth").write_text("\n".join(lines) + "\n", encoding="utf8")


def venv_python(venv_dir: Path) -> Path:
    return venv_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def main(
    wheel: Path = typer.Argument(..., exists=True, dir_okay=False, help="The pipeline package's wheel (spacy package)."),
    out_file: Path = typer.Argument(..., dir_okay=False, help="JSON with what the installed pipeline predicted."),
    venv_dir: Path = typer.Option(Path("training/smoke_venv"), "--venv", file_okay=False, help="Fresh venv (replaced)."),
    text: str = typer.Option("The patient has type 2 diabetes and breast cancer but no sign of Huntington disease.",
                             "--text", help="Sentence to link."),
    mention: str = typer.Option("breast cancer", "--mention", help="A disease in --text, linked as a given entity."),
) -> None:
    """pip install WHEEL into a new venv, load the pipeline by package name and link TEXT."""
    shutil.rmtree(venv_dir, ignore_errors=True)
    venv.EnvBuilder(with_pip=False).create(venv_dir)
    overlay_current_environment(venv_dir)
    python = str(venv_python(venv_dir))
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-index", str(wheel)], check=True)
    package = wheel.name.split("-")[0]
    result = subprocess.run([python, "-c", CHECK, package, text, mention], capture_output=True, text=True)
    if result.returncode:
        msg.fail(f"The installed package {package} failed", result.stderr[-3000:], exits=1)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    for ent in report["ner_and_linking"]:
        msg.text(f"{ent['text']!r} ({ent['label']}) -> {ent['kb_id']}  candidates {ent['candidates']}")
    if not report["ner_and_linking"]:
        msg.warn("The NER found no entity in the sentence (a smoke-sized NER may miss them)")
    given = report["given_mention"]
    msg.good(f"Given mention {given['text']!r} -> {given['kb_id']}  candidates {given['candidates']}")
    with atomic_open(out_file) as handle:
        json.dump({"package": package, "text": text, **report}, handle, indent=2)


if __name__ == "__main__":
    typer.run(main)
