"""`spacy-xmr upgrade-xmr`: an XMR model folder, or a pipeline folder with XMR components, saved again by this version.

Older folders load and link the same, but each process that loads one builds for itself what this version saves
(the tree's weights grouped by parent, the word keys' set hashes, the string and n-gram tables; at 10^6 concepts
about 20 s and 1.5 GiB a process), and folders of formats 2 and 3 are read into memory instead of memory-mapped. Saved
again, processes map all of it from the files and share one copy in the page cache.
"""
from __future__ import annotations

from pathlib import Path

from ..atomic import atomic_directory, refuse_to_overwrite_input
from ..errors import ModelLoadError
from ..model_kinds import PIPELINE_CONFIG
from ..xmr import XMRModel
from ..xmr.model import CONFIG_FILE


def upgrade_folder(source: str | Path, output: str | Path) -> list[str]:
    """Write `source` (an XMR model folder or a spaCy pipeline folder) to `output` as this version saves it, atomically;
    the source is only read. Returns what `output` holds that `source` did not (file paths, by their folder)."""
    source, output = Path(source), Path(output)
    refuse_to_overwrite_input(output, [source])
    if (source / CONFIG_FILE).is_file():
        XMRModel.load(source).save(output)
    elif (source / PIPELINE_CONFIG).is_file():
        import spacy

        nlp = spacy.load(source)
        with atomic_directory(output, replaces=(PIPELINE_CONFIG,)) as tmp:
            nlp.to_disk(tmp)
    else:
        raise ModelLoadError(f"{source}: neither an XMR model folder (no {CONFIG_FILE}) nor a spaCy pipeline folder "
                             f"(no {PIPELINE_CONFIG})")
    return added_folders(source, output)


def added_folders(source: Path, output: Path) -> list[str]:
    """The folders (relative to `output`) of the files that `output` holds and `source` does not, sorted."""
    files = lambda root: {path.relative_to(root) for path in root.rglob("*") if path.is_file()}
    return sorted({path.parent.as_posix() for path in files(output) - files(source)})
