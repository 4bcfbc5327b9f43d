"""Find a saved pipeline (folder or installed package) and load it in a worker with shared linker models.

The XMR models of the `xmr_linker` components are the large arrays of a pipeline. The driver loads
each once and puts it in Ray's object store (`share_linker_models`); a worker then gets numpy arrays
that are read-only views of the node's shared memory instead of a private copy (Ray deserialises
numpy buffers without copying them), and loads every other component from the folder as usual.
Nothing here imports Ray: the caller passes the models in.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import ModelLoadError

LINKER_FACTORY = "xmr_linker"
RERANKER_FACTORY = "xmr_reranker"


def pipeline_directory(pipeline: str | Path) -> Path:
    """The data folder of a pipeline given as a folder or as the name of an installed pipeline package."""
    from spacy import util

    path = Path(pipeline)
    if path.is_dir():
        if not (path / "config.cfg").is_file():
            raise ModelLoadError(f"{path}: not a saved spaCy pipeline (no config.cfg); pass the folder nlp.to_disk wrote")
        return path
    if not util.is_package(str(pipeline)):
        raise ModelLoadError(f"{pipeline}: neither a pipeline folder nor an installed pipeline package")
    package = util.get_package_path(str(pipeline))
    meta = util.get_model_meta(package)
    data = package / f"{meta['lang']}_{meta['name']}-{meta['version']}"
    if not (data / "config.cfg").is_file():
        raise ModelLoadError(f"{pipeline}: the installed package has no pipeline folder at {data}")
    return data


def components_by_factory(directory: Path) -> dict[str, str]:
    """Component name -> factory, in pipeline order, from the folder's config.cfg (nothing is built)."""
    from spacy import util

    config = util.load_config(directory / "config.cfg", interpolate=False)
    return {name: config["components"].get(name, {}).get("factory", "") for name in config["nlp"]["pipeline"]}


def linker_names(directory: Path) -> list[str]:
    return [name for name, factory in components_by_factory(directory).items() if factory == LINKER_FACTORY]


def first_reranker(directory: Path) -> str | None:
    """The first `xmr_reranker` component: the GPU stage starts there."""
    return next((name for name, factory in components_by_factory(directory).items() if factory == RERANKER_FACTORY), None)


def load_linker_models(directory: Path) -> dict:
    """The XMR model of every `xmr_linker` component, keyed by component name (the driver shares them)."""
    from ..xmr import XMRModel

    models = {}
    for name in linker_names(directory):
        model_dir = directory / name / "model"
        if not model_dir.is_dir():
            raise ModelLoadError(f"{directory}: component {name!r} has no saved model folder {model_dir}")
        models[name] = XMRModel.load(model_dir)
    return models


def load_pipeline(directory: Path, linker_models: dict):
    """The pipeline in `directory`, with the `linker_models` given instead of reading them from disk."""
    from spacy import util

    config = util.load_config(directory / "config.cfg")
    for name, factory in components_by_factory(directory).items():
        if factory in (LINKER_FACTORY, RERANKER_FACTORY):
            config["components"][name]["model"] = None  # the path they were built with; from_disk reads the saved copy
    nlp = util.load_model_from_config(config, meta=util.get_model_meta(directory))
    nlp.from_disk(directory, exclude=list(linker_models))
    for name, model in linker_models.items():
        nlp.get_pipe(name).use_model(model)
    return nlp
