"""Packaging for spacy-xmr: a spaCy plugin for XMR entity linking with cross-encoder reranking."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
about: dict = {}
exec((HERE / "spacy_xmr" / "about.py").read_text(encoding="utf8"), about)

setup(
    name="spacy-xmr",
    version=about["__version__"],
    description=about["__summary__"],
    long_description=(HERE / "README.md").read_text(encoding="utf8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10,<3.14",
    packages=find_packages(include=["spacy_xmr", "spacy_xmr.*"]),
    include_package_data=True,
    install_requires=[
        "spacy>=3.7,<3.9",
        "bioc>=2.0",
        "lxml>=4.5",  # PubMed XML read by records, BioC XML written by documents (`etree.indent`)
        "numpy>=1.24",
        "numba>=0.59",  # the compiled loops of prediction (`xmr/compiled_loops.py`)
        "filelock>=3.0",  # their first compilation, one process at a time
        "scipy>=1.10",
        "scikit-learn>=1.3",
        "torch>=2.1,<3",
        "transformers>=4.40",
        "safetensors>=0.4",
        "typer>=0.9",
        "tqdm>=4.60",
        "wasabi>=1.1",
    ],
    extras_require={
        "gpu": ["cupy-cuda12x>=13"],
        "distributed": ["ray[data,client]>=2.9"],
        "rank": ["lightgbm>=4.0"],  # the learned ranker (`xmr_ranker`, `train-ranker`): a compiled library the linker does not need
        "test": ["pytest>=7", "hypothesis>=6", "matplotlib>=3.7", "ray[data,client]>=2.9", "lightgbm>=4.0"],
        "bench": ["psutil>=5.9"],
        "project": ["matplotlib>=3.7"],  # the project workflow's `report` step draws its figures with it
    },
    entry_points={
        "console_scripts": ["spacy-xmr = spacy_xmr.cli:main"],
        "spacy_factories": [
            "xmr_linker = spacy_xmr.pipeline.factories:make_xmr_linker",
            "xmr_reranker = spacy_xmr.pipeline.factories:make_xmr_reranker",
            "xmr_ranker = spacy_xmr.pipeline.factories:make_xmr_ranker",
        ],
        "spacy_scorers": ["spacy_xmr.candidate_scorer.v1 = spacy_xmr.pipeline.scoring:make_candidate_scorer"],
    },
    classifiers=[
        "Framework :: spaCy",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Topic :: Scientific/Engineering :: Bio-Informatics",
    ],
)
