"""The code blocks of README.md and docs/*.md run, so the documentation cannot rot.

Each file's `bash` and `python` blocks run in order, in a folder laid out as after the main job but with small
data (the synthetic ontology, corpus and model; the package `spacy package` builds from them): `corpus/*.xml.gz`,
`training/xmr`, `packages/en_<name>-<version>/dist/*.whl`. `pip install` goes to a folder of that workspace
(PIP_TARGET, no dependencies, no index), which the python blocks import from. A block that cannot run here says
why right above it (`<!-- not run by tests: REASON -->`); its `spacy-xmr` commands, benchmark scripts and project
variables are still checked to exist.
"""
from __future__ import annotations

import gzip
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import srsly
import typer.main
from typer.testing import CliRunner

from spacy_xmr.cli import app

REPO_ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
RUN_LANGUAGES = {"bash", "python"}
OTHER_LANGUAGES = {"text"}  # diagrams: nothing to run
MAX_NOT_RUN = 8  # blocks that need a GPU, Docker, a Ray cluster, a network or many minutes
SKIP_MARK = re.compile(r"<!--\s*not run by tests:\s*(.*?)\s*-->")
BLOCK_SECONDS = 120


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    language: str
    code: str
    not_run_because: str | None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO_ROOT)}:{self.line}"


def code_blocks(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file, with the reason given right above a block that is not run."""
    lines = path.read_text(encoding="utf8").split("\n")
    blocks, start, reason = [], None, None
    for number, line in enumerate(lines, start=1):
        if start is None and line.startswith("```"):
            above = next((previous for previous in reversed(lines[:number - 1]) if previous.strip()), "")
            match = SKIP_MARK.fullmatch(above.strip())
            start, language, reason = number, line[3:].strip(), match.group(1) if match else None
        elif start is not None and line.startswith("```"):
            blocks.append(Block(path, start, language, "\n".join(lines[start:number - 1]) + "\n", reason))
            start = None
    assert start is None, f"{path}:{start}: a code block is never closed"
    return blocks


def commands(shell: str) -> list[list[str]]:
    """Shell commands as argument lists (continuations joined, comments dropped, split at `&&` and `||`)."""
    text = shell.replace("\\\n", " ")
    found = []
    for line in text.split("\n"):
        tokens = shlex.split(line, comments=True)
        while tokens:
            end = next((i for i, token in enumerate(tokens) if token in ("&&", "||")), len(tokens))
            found.append(tokens[:end])
            tokens = tokens[end + 1:]
    return [command for command in found if command]


def _project_vars() -> set[str]:
    return set(srsly.read_yaml(REPO_ROOT / "project.yml")["vars"])


def check_commands_exist(block: Block) -> None:
    """`spacy-xmr` subcommands and their options, `python benchmarks/*.py` and its options, `--vars.*` of projects."""
    cli = typer.main.get_command(app)
    for command in commands(block.code):
        if command[0] == "spacy-xmr":
            assert command[1] in cli.commands, f"{block.where}: no `spacy-xmr {command[1]}` command"
            options = {opt for param in cli.commands[command[1]].params for opt in param.opts}
            used = {token.split("=")[0] for token in command[2:] if token.startswith("--")}
            assert used <= options, f"{block.where}: `spacy-xmr {command[1]}` has no option {sorted(used - options)}"
        elif command[0] == "python" and len(command) > 1 and command[1].startswith("benchmarks/"):
            script = REPO_ROOT / command[1]
            assert script.is_file(), f"{block.where}: no script {command[1]}"
            source = script.read_text(encoding="utf8")
            for option in (token.split("=")[0] for token in command[2:] if token.startswith("--")):
                assert option in source, f"{block.where}: {command[1]} has no option {option}"
        elif command[:5] == ["python", "-m", "spacy", "project", "run"]:
            unknown = {t.split(".", 1)[1] for t in command if t.startswith("--vars.")} - _project_vars()
            assert not unknown, f"{block.where}: project.yml has no vars {sorted(unknown)}"


@pytest.fixture(scope="module")
def main_job_layout(tmp_path_factory, synthetic_ontology_path, synthetic_corpus_dir, synthetic_model_dir) -> Path:
    """A folder laid out as the main job leaves it, from the synthetic data (the package built from a blank
    pipeline with an entity ruler and the synthetic XMR model)."""
    import spacy

    root = tmp_path_factory.mktemp("main-job")
    (root / "corpus").mkdir()
    shutil.copy(synthetic_ontology_path, root / "corpus" / "ontology.jsonl.gz")
    for split, source in (("train", "train.xml"), ("val", "dev.xml"), ("test", "dev.xml")):
        (root / "corpus" / f"{split}.xml.gz").write_bytes(gzip.compress((synthetic_corpus_dir / source).read_bytes()))
    shutil.copytree(synthetic_model_dir, root / "training" / "xmr")

    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "Disease", "pattern": "DMD"}])
    nlp.add_pipe("xmr_linker", config={"model": str(root / "training" / "xmr")})
    nlp.to_disk(root / "training" / "pipeline")
    (root / "packages").mkdir()
    variables = srsly.read_yaml(REPO_ROOT / "project.yml")["vars"]
    built = subprocess.run([sys.executable, "-m", "spacy", "package", "training/pipeline", "packages", "--name",
                            variables["package_name"], "--version", variables["package_version"], "--build", "wheel"],
                           cwd=root, capture_output=True, text=True, timeout=BLOCK_SECONDS)
    assert built.returncode == 0, built.stdout + built.stderr
    return root


def run_block(block: Block, workspace: Path) -> None:
    """Run a block in `workspace`: pip installs into its `site-packages`, which python imports from."""
    site_packages = str(workspace / "site-packages")
    environment = {**os.environ, "PIP_TARGET": site_packages, "PIP_NO_DEPS": "1", "PIP_NO_INDEX": "1",
                   "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONPATH": site_packages, "MPLBACKEND": "Agg",
                   "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    if block.language == "bash":
        argv = ["bash", "-e", "-o", "pipefail", "-c", block.code]
    else:
        argv = [sys.executable, "-c", block.code]
    result = subprocess.run(argv, cwd=workspace, env=environment, capture_output=True, text=True, timeout=BLOCK_SECONDS)
    assert result.returncode == 0, (f"{block.where} failed (exit {result.returncode}):\n{block.code}\n"
                                    f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


@pytest.mark.slow  # builds and installs a package, then runs a dozen commands: about 1.5 min on 2 cores
@pytest.mark.parametrize("path", DOC_FILES, ids=lambda path: path.name)
def test_code_blocks_run(path, main_job_layout, tmp_path):
    workspace = tmp_path / "workspace"
    shutil.copytree(main_job_layout, workspace)
    for block in code_blocks(path):
        known = RUN_LANGUAGES | OTHER_LANGUAGES
        assert block.language in known, f"{block.where}: give the block a language among {sorted(known)}"
        if block.not_run_because is not None:
            check_commands_exist(block)
        elif block.language in RUN_LANGUAGES:
            run_block(block, workspace)


def test_blocks_not_run_are_few_and_say_why():
    marks = [(path, number) for path in DOC_FILES
             for number, line in enumerate(path.read_text(encoding="utf8").split("\n"), start=1) if SKIP_MARK.search(line)]
    not_run = [block for path in DOC_FILES for block in code_blocks(path) if block.not_run_because is not None]
    assert len(not_run) == len(marks), "a `not run by tests` mark must be the line right above a code block"
    assert 0 < len(not_run) <= MAX_NOT_RUN, [block.where for block in not_run]
    for block in not_run:
        assert len(block.not_run_because.split()) >= 3, f"{block.where}: say why the block is not run"
        assert block.language in RUN_LANGUAGES, f"{block.where}: only code blocks need a reason"


def test_readme_two_commands_are_what_ci_runs():
    """The README's first block: its commands are the ones .ci/run runs (pip's packages among its pip installs)."""
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf8")
    ci_commands = commands(ci)
    ci_pip_arguments = {token for command in ci_commands if command[:2] == ["pip", "install"] for token in command[2:]}
    first = next(block for block in code_blocks(REPO_ROOT / "README.md") if block.language == "bash")
    assert len(commands(first.code)) == 4
    for command in commands(first.code):
        if command[:2] == ["pip", "install"]:
            assert set(command[2:]) <= ci_pip_arguments, f"README installs {command[2:]}, .ci/run {ci_pip_arguments}"
        else:
            assert command in ci_commands, f"README runs {shlex.join(command)}, which .ci/run does not"


def test_readme_is_a_front_page():
    text = (REPO_ROOT / "README.md").read_text(encoding="utf8")
    assert len(text.split("\n")) <= 150
    assert "en_core_sci_sm" not in text  # not installed: the quick start loads what the main job built
    linked = set(re.findall(r"\]\((docs/[\w.]+\.md)\)", text))
    assert linked == {str(path.relative_to(REPO_ROOT)) for path in DOC_FILES[1:]}, "README links every page of docs/"


@pytest.mark.parametrize("name", sorted(typer.main.get_command(app).commands))
def test_help_shows_whole_option_names_on_a_narrow_terminal(name):
    command = typer.main.get_command(app).commands[name]
    result = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "40"}, terminal_width=40)
    assert result.exit_code == 0, result.output
    for option in (opt for param in command.params for opt in param.opts if opt.startswith("--")):
        whole = re.search(rf"(^|[\s,]){re.escape(option)}([\s,=]|$)", result.output, re.M)
        assert whole, f"{name} --help cuts {option}:\n{result.output}"


def test_relative_links_resolve():
    for path in DOC_FILES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf8")):
            if "://" not in target:
                assert (path.parent / target).exists(), f"{path.relative_to(REPO_ROOT)} links to {target}, which does not exist"


def test_every_command_has_a_documented_example():
    shown = {command[1] for path in DOC_FILES for block in code_blocks(path) if block.language == "bash"
             for command in commands(block.code) if command[0] == "spacy-xmr"}
    assert set(typer.main.get_command(app).commands) <= shown
