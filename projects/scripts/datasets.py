"""What the project workflows need to know about each dataset: its source files and its converter.

The three project.yml files run the same commands; `vars.dataset` picks an entry here. Source paths
are relative to a folder laid out like ../shared/data (or the official releases, unzipped).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

MEDIC = "medic/CTD_diseases.tsv.gz"


@dataclass(frozen=True)
class Dataset:
    required: list[str]  # source files, relative to the sources folder
    test: str  # the test split's source file; optional where `test_required` is false
    test_required: bool
    converter: str  # script in corpora_scripts/
    corpus_dir_option: str  # the converter's option naming the corpus folder
    corpus_dir: str  # that folder, relative to the sources folder
    extra_options: list[str] = field(default_factory=list)

    @property
    def files(self) -> list[str]:
        return [*self.required, self.test]

    def converter_args(self, sources: Path, out_dir: Path) -> list[str]:
        """Arguments of the converter: BioC train/val[/test] and the ontology into `out_dir`."""
        args = [
            self.corpus_dir_option, str(sources / self.corpus_dir), "--ctd-medic-diseases", str(sources / MEDIC),
            *self.extra_options, "--out-train", str(out_dir / "train.xml.gz"), "--out-val", str(out_dir / "val.xml.gz"),
            "--out-ontology", str(out_dir / "ontology.jsonl.gz"),
        ]
        if self.has_test(sources):
            args += ["--out-test", str(out_dir / "test.xml.gz")]
        return args

    def has_test(self, sources: Path) -> bool:
        return (sources / self.test).exists()


DATASETS = {
    "ncbi_disease": Dataset(
        required=[
            "ncbi_disease/NCBItrainset_corpus.txt",
            "ncbi_disease/NCBIdevelopset_corpus.txt",
            MEDIC,
        ],
        test="ncbi_disease/NCBItestset_corpus.txt",
        test_required=True,
        converter="prepare_ncbi_disease_and_medic.py",
        corpus_dir_option="--ncbidisease-dir",
        corpus_dir="ncbi_disease",
    ),
    "bc5cdr_disease": Dataset(
        required=["bc5cdr/CDR_TrainingSet.PubTator.txt", "bc5cdr/CDR_DevelopmentSet.PubTator.txt", MEDIC],
        test="bc5cdr/CDR_TestSet.PubTator.txt",  # not in ../shared/data: the project then evaluates on val
        test_required=False,
        converter="prepare_bc5cdr_and_mesh.py",
        corpus_dir_option="--bc5cdr-dir",
        corpus_dir="bc5cdr",
        extra_options=["--entity-types", "Disease"],
    ),
}


def get_dataset(name: str) -> Dataset:
    """The dataset called `name`; exits with the known names when there is none."""
    if name not in DATASETS:
        raise SystemExit(f"unknown dataset {name!r} (vars.dataset in project.yml); known: {', '.join(DATASETS)}")
    return DATASETS[name]
