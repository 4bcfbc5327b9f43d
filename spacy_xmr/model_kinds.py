"""The header file that marks each kind of model folder spacy-xmr writes.

A folder given where another kind is expected (a ranker to the reranker, a pipeline or a training folder to a
component) is then named for what it is, at `add_pipe` and at load, instead of being reported as missing or corrupt.
Light on purpose: the factories import it.
"""
from __future__ import annotations

from pathlib import Path

XMR_HEADER, RERANKER_HEADER, RANKER_HEADER = "xmr.json", "reranker.json", "ranker.json"
PIPELINE_CONFIG = "config.cfg"  # spaCy's, in every saved pipeline folder
MODEL_DIR = "model"  # a spacy-xmr component's model folder inside its folder of a saved pipeline
TRAINING_BEST = "model-best"  # where `train-reranker` keeps its best model inside its output folder

KINDS = {  # header file: (what the folder holds, the command that writes it)
    XMR_HEADER: ("an XMR model", "spacy-xmr train-xmr"),
    RERANKER_HEADER: ("a cross-encoder reranker", "spacy-xmr train-reranker"),
    RANKER_HEADER: ("a learned ranker", "spacy-xmr train-ranker"),
}


def written_by(header: str) -> str:
    """The command that writes folders of `header`'s kind, quoted for a message."""
    return f"`{KINDS[header][1]}`"


def component_models(pipeline: Path, header: str) -> list[Path]:
    """The model folders of `header`'s kind inside the saved spaCy pipeline `pipeline` (one per component)."""
    return sorted(path.parent for path in Path(pipeline).glob(f"*/{MODEL_DIR}/{header}"))


def wrong_kind(directory: Path, header: str) -> str | None:
    """Why the existing folder `directory` is not one of `header`'s kind, naming what it is instead and the folder
    to give; None when it is one."""
    directory = Path(directory)
    if (directory / header).is_file():
        return None
    wanted = KINDS[header][0]
    for other, (found, _) in KINDS.items():
        if (directory / other).is_file():
            return f"{directory} holds {found} ({other}), not {wanted}; give a folder written by {written_by(header)}"
    if (directory / TRAINING_BEST / header).is_file():
        return f"{directory} is a training output folder; give the model in it: {directory / TRAINING_BEST}"
    if (directory.parent / TRAINING_BEST / header).is_file():  # the training's checkpoint, say
        return f"{directory} is not {wanted} folder; give the training's model beside it: {directory.parent / TRAINING_BEST}"
    if (directory / PIPELINE_CONFIG).is_file():
        inside = component_models(directory, header)
        where = f"the model folder of its component ({', '.join(map(str, inside))})" if inside else "a model folder"
        return f"{directory} is a spaCy pipeline folder, not {wanted}; give {where}, or load the pipeline with spacy.load"
    return f"{directory} is not {wanted} folder (it has no {header}); give a folder written by {written_by(header)}"
