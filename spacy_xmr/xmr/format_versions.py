"""The model directory's header (xmr.json) and the older format versions this version still reads.

Format 3 moved each channel's settings out of `fusion` into a section of its own and named the channel weights
after their channels; the array files kept their names, so a version-2 directory loads once its config is mapped.
Format 4 stores the arrays as memory-mapped `.npy` folders in place of `.npz` files (`arrays.py`, which still reads
those, into memory): the config is that of format 3.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from ..errors import ModelLoadError
from ..model_kinds import written_by, wrong_kind
from .config import XMRConfig

FORMAT_NAME = "spacy-xmr-xmr-model"
# 2: features see `key_words`, word-key channel; 3: channel settings in sections of their own; 4: memory-mapped arrays
FORMAT_VERSION = 4
READABLE_VERSIONS = (2, 3, FORMAT_VERSION)
logger = logging.getLogger(__name__)
V2_FUSION_KEYS = {  # a version-2 `fusion` key → its (section, key) in version 3
    "post_processor": ("tree", "path_scoring"),
    "nn_weight": ("fusion", "nearest_weight"),
    "nn_top_aliases": ("nearest", "top_aliases"),
    "nn_query_terms": ("nearest", "query_terms"),
    "nn_index_terms": ("nearest", "index_terms"),
    "word_weight": ("fusion", "word_key_weight"),
    "substitution_weight": ("word_key", "substitution_weight"),
    "drop_weight": ("word_key", "drop_weight"),
    "rewrite_min_concepts": ("word_key", "rewrite_min_concepts"),
    "parent_top_children": ("parent", "top_children"),
}


def config_from_v2(config: dict) -> dict:
    """A version-2 config dict in the version-3 layout (values unchanged)."""
    upgraded = {section: dict(values) if isinstance(values, dict) else values for section, values in config.items()}
    fusion = upgraded.get("fusion", {})
    for old_key, (section, key) in V2_FUSION_KEYS.items():
        if old_key in fusion:
            upgraded.setdefault(section, {})[key] = fusion.pop(old_key)
    return upgraded


def read_header(path: Path) -> tuple[dict, XMRConfig]:
    """The header of a model directory and its config, read from format 2, 3 or 4; ModelLoadError says what is wrong."""
    try:
        header = json.loads(path.read_text(encoding="utf8"))
    except FileNotFoundError as err:
        raise ModelLoadError(wrong_kind(path.parent, path.name) if path.parent.is_dir() else f"{path.parent} does not exist "
                             f"(train an XMR model with {written_by(path.name)})") from err
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as err:
        raise ModelLoadError(f"{path} is corrupt: {err}") from err
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise ModelLoadError(f"{path}: not an XMR model (format {header.get('format') if isinstance(header, dict) else None!r})")
    version = header.get("format_version")
    if version not in READABLE_VERSIONS:
        raise ModelLoadError(f"{path}: model format version {version!r}, but this spacy-xmr reads versions "
                             f"{', '.join(map(str, READABLE_VERSIONS))}; retrain the model with this version")
    if version < FORMAT_VERSION:
        logger.info("%s: model format %s, whose arrays are read into memory, not memory-mapped and shared between "
                    "processes; `spacy-xmr upgrade-xmr --model %s --output NEW` writes it in format %s", path.parent, version,
                    path.parent, FORMAT_VERSION)
    config = header.get("config")
    if version == 2 and isinstance(config, dict):
        config = config_from_v2(config)
    try:
        return header, XMRConfig.from_dict(config)
    except ValueError as err:
        raise ModelLoadError(f"{path}: the model's config is invalid: {err}") from err
