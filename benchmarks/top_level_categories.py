"""What barring the ontology's top-level categories as candidates costs (`parent.exclude_top_level`), on NCBI Disease
or BC5CDR (Disease) dev with MEDIC.

MEDIC's top-level categories ("Neoplasms", "Eye Diseases") are the gold concept of some mentions, so barring them
makes those mentions unreachable. One model is trained with the default config (its confidence is not calibrated:
these figures do not read it), then scored with the setting off and on; the setting changes prediction only.

    python benchmarks/top_level_categories.py [--dataset ncbi_disease|bc5cdr_disease]

writes benchmarks/results/top_level_categories_<dataset>.json.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from xmr_ncbi_disease import REPO, model_metrics, train_and_evaluation_mentions  # noqa: E402

from spacy_xmr.atomic import atomic_open  # noqa: E402
from spacy_xmr.ontology import read_medic  # noqa: E402
from spacy_xmr.xmr import XMRConfig, XMRModel  # noqa: E402
from spacy_xmr.xmr.channels.parent import hierarchy_top  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--dataset", choices=("ncbi_disease", "bc5cdr_disease"), default="ncbi_disease")
    args = parser.parse_args()
    ontology = read_medic(args.data_dir / "medic" / "CTD_diseases.tsv.gz")
    train, dev = train_and_evaluation_mentions(args.data_dir, args.dataset, "dev")
    config = XMRConfig.from_dict({"calibration": {"folds": 0}})
    model = XMRModel.train(ontology, train, config, progress=False)
    _, top_level = hierarchy_top(model.ontology, model.concept_ids)
    gold_top = Counter(model.ontology[concept].name for m in dev for concept in {model.ontology.resolve(i) for i in m.gold_ids} & top_level)
    result = {
        "dataset": args.dataset, "split": "dev", "n_dev_mentions": len(dev), "n_top_level_categories": len(top_level),
        "n_dev_mentions_linked_to_a_top_level_category": sum(
            bool({model.ontology.resolve(i) for i in m.gold_ids} & top_level) for m in dev),
        "top_level_gold_concepts": dict(gold_top.most_common()),
        "default": model_metrics(model, dev, model.ontology),
        "exclude_top_level": model_metrics(model.configure(exclude_top_level=True), dev, model.ontology),
        "command": f"python benchmarks/top_level_categories.py --dataset {args.dataset}",
    }
    with atomic_open(REPO / "benchmarks" / "results" / f"top_level_categories_{args.dataset}.json") as handle:
        json.dump(result, handle, indent=2)
    print(json.dumps({key: value for key, value in result.items() if key != "top_level_gold_concepts"}, indent=1))


if __name__ == "__main__":
    main()
