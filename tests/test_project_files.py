"""The project.yml files, their shared configs and their command chain (the workflow itself runs in CI)."""
from __future__ import annotations

from pathlib import Path

import pytest
import spacy
import srsly
from spacy.tokens import Doc, DocBin, Span
from weasel.cli.document import project_document
from weasel.util import load_project_config

REPO = Path(__file__).resolve().parent.parent
PROJECT_DIRS = [REPO, REPO / "projects" / "ncbi_disease", REPO / "projects" / "bc5cdr_disease"]
CONFIGS = REPO / "projects" / "configs"


@pytest.fixture(params=PROJECT_DIRS, ids=lambda path: path.relative_to(REPO).as_posix() or "root")
def project_dir(request) -> Path:
    return request.param


def test_project_validates_with_weasel(project_dir):
    config = load_project_config(project_dir)  # schema validation; exits on an error
    commands = {command["name"] for command in config["commands"]}
    assert set(config["workflows"]["all"]) <= commands
    assert config["vars"]["sources"] == ""  # offline runs pass --vars.sources; the default downloads


def test_commands_and_workflows_are_the_same_in_every_project():
    raw = [srsly.read_yaml(path / "project.yml") for path in PROJECT_DIRS]
    for other in raw[1:]:
        assert other["commands"] == raw[0]["commands"]
        assert other["workflows"] == raw[0]["workflows"]
        assert set(other["vars"]) == set(raw[0]["vars"])


def test_every_dep_is_a_repo_file_or_an_earlier_output(project_dir):
    config = load_project_config(project_dir)
    commands = {command["name"]: command for command in config["commands"]}
    produced: set[str] = set()
    for name in config["workflows"]["all"]:
        command = commands[name]
        for dep in command.get("deps", []):
            assert dep in produced or (project_dir / dep).exists(), f"{name}: dep {dep} is neither an earlier output nor a file"
        assert command.get("outputs"), f"{name} declares no outputs: `spacy project run` would never skip it"
        produced.update(command["outputs"])


def test_every_script_and_config_named_in_a_command_exists(project_dir):
    config = load_project_config(project_dir)
    shared = (config["vars"]["scripts"] + "/", config["vars"]["configs"] + "/")
    named = {part for command in config["commands"] for line in command["script"] for part in line.split()
             if part.startswith(shared) and "{" not in part}
    assert len(named) >= 10, f"expected the commands to name the shared scripts and configs, found {named}"
    for path in named:
        assert (project_dir / path).is_file(), f"{path} (relative to {project_dir}) does not exist"


def test_project_document_renders_every_command(project_dir, tmp_path):
    readme = tmp_path / "README.md"
    project_document(project_dir, readme, no_emoji=True)
    text = readme.read_text(encoding="utf8")
    for command in load_project_config(project_dir)["commands"]:
        assert f"`{command['name']}`" in text


def _tiny_docbin(path: Path) -> Path:
    nlp = spacy.blank("en")
    docs = []
    for words, start, end in [(["Breast", "cancer", "is", "common", "."], 0, 2), (["No", "sign", "of", "ataxia", "."], 3, 4)]:
        doc = Doc(nlp.vocab, words=words)
        doc.ents = [Span(doc, start, end, label="Disease")]
        docs.append(doc)
    DocBin(docs=docs).to_disk(path)
    return path


@pytest.fixture(scope="module")
def tiny_ner(tmp_path_factory) -> Path:
    """The project's NER config trained for two steps on two sentences: it resolves, trains and saves."""
    from spacy.cli.train import train

    work = tmp_path_factory.mktemp("ner")
    corpus = _tiny_docbin(work / "tiny.spacy")
    overrides = {"paths.train": str(corpus), "paths.dev": str(corpus), "training.max_steps": 2, "training.eval_frequency": 1}
    train(CONFIGS / "ner.cfg", work / "out", overrides=overrides)
    return work / "out" / "model-best"


def test_ner_config_trains_a_disease_ner(tiny_ner):
    nlp = spacy.load(tiny_ner)
    assert nlp.pipe_names == ["ner"]
    assert nlp.get_pipe("ner").labels == ("Disease",)


def test_pipeline_config_sources_the_ner_and_adds_the_linker(tiny_ner, synthetic_model_dir):
    config = spacy.util.load_config(
        CONFIGS / "pipeline.cfg", overrides={"paths.ner_model": str(tiny_ner), "paths.xmr_model": str(synthetic_model_dir)}
    )
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    assert nlp.pipe_names == ["ner", "xmr_linker"]
    assert nlp.get_pipe("ner").labels == ("Disease",)
    assert nlp.get_pipe("xmr_linker").model_path == synthetic_model_dir


@pytest.mark.parametrize("name", ["xmr.json", "xmr_smoke.json"])
def test_xmr_configs_are_valid(name):
    from spacy_xmr.xmr import XMRConfig

    XMRConfig.from_json(CONFIGS / name)


@pytest.mark.parametrize("project_dir", PROJECT_DIRS[1:], ids=lambda path: path.name)
def test_project_readme_is_the_generated_one(project_dir, tmp_path):
    """projects/*/README.md is `spacy project document` output: regenerate it after editing project.yml."""
    project_document(project_dir, tmp_path / "README.md", no_emoji=False)
    assert (project_dir / "README.md").read_text(encoding="utf8") == (tmp_path / "README.md").read_text(encoding="utf8"), (
        f"run: python -m spacy project document {project_dir} --output {project_dir}/README.md"
    )
