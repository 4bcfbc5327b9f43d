"""Find a saved pipeline (folder or installed package) and load it in a worker with shared linker models.

The XMR models of the `xmr_linker` components are the large arrays of a pipeline. The driver loads
each once (`load_linker_models`) and hands them to the workers through Ray: a loaded model pickles as
its folder (`XMRModel.__reduce_ex__`), so every worker of a node memory-maps the same files, shared in
the page cache, and loads every other component from the folder as usual. `needs_optional_imports`
tells whether a worker may run without torch and pandas. Nothing here imports Ray: the caller passes
the models in.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from ..errors import ModelLoadError
from ..model_kinds import MODEL_DIR, PIPELINE_CONFIG

LINKER_FACTORY = "xmr_linker"
RERANKER_FACTORY = "xmr_reranker"


def pipeline_directory(pipeline: str | Path) -> Path:
    """The data folder of a pipeline given as a folder or as the name of an installed pipeline package."""
    from spacy import util

    path = Path(pipeline)
    if path.is_dir():
        if not (path / PIPELINE_CONFIG).is_file():
            raise ModelLoadError(f"{path}: not a saved spaCy pipeline (no config.cfg); pass the folder nlp.to_disk wrote")
        return path
    if not util.is_package(str(pipeline)):
        raise ModelLoadError(f"{pipeline}: neither a pipeline folder nor an installed pipeline package")
    package = util.get_package_path(str(pipeline))
    meta = util.get_model_meta(package)
    data = package / f"{meta['lang']}_{meta['name']}-{meta['version']}"
    if not (data / PIPELINE_CONFIG).is_file():
        raise ModelLoadError(f"{pipeline}: the installed package has no pipeline folder at {data}")
    return data


SMALL_FILE_BYTES = 1 << 16  # files up to this size are fingerprinted by their bytes, larger ones by size and mtime


def pipeline_fingerprint(directory: Path) -> str:
    """A short hash that changes when the pipeline folder's files do: every file's path and its bytes (configs,
    meta, vocab) or, for a large array, its size and modification time. A rerun whose pipeline changed redoes
    the shards written with the old one."""
    digest = hashlib.sha1()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(str(path.relative_to(directory)).encode("utf8"))
        digest.update(path.read_bytes() if stat.st_size <= SMALL_FILE_BYTES else f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def components_by_factory(directory: Path) -> dict[str, str]:
    """Component name -> factory, in pipeline order, from the folder's config.cfg (nothing is built)."""
    from spacy import util

    config = util.load_config(directory / PIPELINE_CONFIG, interpolate=False)
    return {name: config["components"].get(name, {}).get("factory", "") for name in config["nlp"]["pipeline"]}


def linker_names(directory: Path) -> list[str]:
    return [name for name, factory in components_by_factory(directory).items() if factory == LINKER_FACTORY]


def first_reranker(directory: Path) -> str | None:
    """The first `xmr_reranker` component: the GPU stage starts there."""
    return next((name for name, factory in components_by_factory(directory).items() if factory == RERANKER_FACTORY), None)


def stage_components(directory: Path, stage: str) -> list[str]:
    """The components a worker of `stage` runs: every one (`all`), those before the first `xmr_reranker`
    (`cpu`), or that one and the rest (`rerank`)."""
    names = list(components_by_factory(directory))
    reranker = first_reranker(directory)
    split = names.index(reranker) if reranker else len(names)
    return {"all": names, "cpu": names[:split], "rerank": names[split:]}[stage]


def needs_optional_imports(directory: Path, linker_models: dict, components: list[str]) -> bool:
    """Whether a worker running `components` may need torch (or pandas, which none of spaCy's and spacy-xmr's
    components use either); False only when every one is known not to.

    Known not to: spaCy's own components and registered functions (thinc-native, except the Torch*
    layers), and spacy-xmr's linker and ranker when no linker model has a dense channel. Anything
    else (`xmr_reranker`, spacy-transformers, a third-party component) may import torch.
    """
    import spacy
    from catalogue import RegistryError
    from spacy import registry, util

    def own(name: str) -> bool:
        return name.startswith(("spacy.", "spacy-legacy.", "spacy_xmr.")) and "torch" not in name.lower()

    def functions(section) -> list[str]:
        if not isinstance(section, dict):
            return []
        return [value for key, value in section.items() if key.startswith("@")] + [
            name for value in section.values() for name in functions(value)]

    if any("dense" in model.channels for model in linker_models.values()):
        return True
    config = util.load_config(directory / PIPELINE_CONFIG, interpolate=False)
    spacy.blank(config["nlp"]["lang"])  # registers every factory: spaCy's, the language's and the entry points'
    factories = components_by_factory(directory)
    for name in components:
        if factories[name] == RERANKER_FACTORY:
            return True
        try:
            factory = registry.factories.get(factories[name])
        except RegistryError:
            return True
        if not own(f"{_defining_module(factory)}.") or not all(own(f) for f in functions(config["components"][name])):
            return True
    return False


def _defining_module(factory) -> str:
    """The module of a factory's code; for `@Language.component` functions, spaCy's wrapper holds the function."""
    if factory.__module__ == "spacy.language":
        wrapped = [cell.cell_contents for cell in factory.__closure__ or () if callable(cell.cell_contents)]
        if wrapped:
            return wrapped[0].__module__
    return factory.__module__


def load_linker_models(directory: Path) -> dict:
    """The XMR model of every `xmr_linker` component, keyed by component name (the driver shares them)."""
    from ..xmr import XMRModel

    models = {}
    for name in linker_names(directory):
        model_dir = directory / name / MODEL_DIR
        if not model_dir.is_dir():
            raise ModelLoadError(f"{directory}: component {name!r} has no saved model folder {model_dir}")
        models[name] = XMRModel.load(model_dir)
    return models


def load_pipeline(directory: Path, linker_models: dict, components: list[str]):
    """The pipeline in `directory`, with the `linker_models` given instead of reading them from disk, and
    only `components` enabled: the others are built but their data is not read (a CPU-stage worker
    never loads the reranker's transformer)."""
    from spacy import util

    config = util.load_config(directory / PIPELINE_CONFIG)
    for name, factory in components_by_factory(directory).items():
        if factory in (LINKER_FACTORY, RERANKER_FACTORY):
            config["components"][name]["model"] = None  # the path they were built with; from_disk reads the saved copy
    nlp = util.load_model_from_config(config, meta=util.get_model_meta(directory))
    unused = [name for name in nlp.pipe_names if name not in components]
    nlp.from_disk(directory, exclude=[*linker_models, *unused])
    for name, model in linker_models.items():
        nlp.get_pipe(name).use_model(model)
    nlp.select_pipes(enable=components)
    return nlp
