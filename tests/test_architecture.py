"""The package's layers, read from the source with `ast`: no package imports one above it, xmr/ and rerank/ never
import each other, lazy imports inside functions included (imports under `if TYPE_CHECKING:` name types only and
never run, so they are left out)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "spacy_xmr"

# Bottom-up; a unit is a top-level module or subpackage of spacy_xmr.
LAYERS = [
    {"about", "errors", "model_kinds", "phase_log", "atomic", "gzip_files", "settings", "device", "calibration", "calibration_metrics",
     "calibration_plots"},
    {"ontology"},
    {"corpus"},
    {"xmr", "rerank", "evaluation", "evaluation_checks"},
    {"ranking"},  # learned ranking over the XMR stage's channels (and optionally a cross-encoder's scores)
    {"pipeline", "workflows"},
    {"cli", "distributed", "__main__"},
]
NEVER = {("xmr", "rerank"), ("rerank", "xmr")}
LAYER_OF = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def _module_name(path: Path, root: Path = PACKAGE) -> list[str]:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Every Import / ImportFrom node, at any depth, outside `if TYPE_CHECKING:` blocks."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (n for child in node.orelse for n in _imports_in(child))
            continue
        yield from _imports_in(node)


def _imports_in(node: ast.AST):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    else:
        yield from _imports(node)


def imported_units(path: Path, root: Path = PACKAGE) -> list[tuple[int, str]]:
    """(line, unit of spacy_xmr) for each import of the package's own modules in the file at `path` below `root`."""
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name[:-1]
    found = []
    for node in _imports(ast.parse(path.read_text(encoding="utf8"), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1] + (node.module.split(".") if node.module else [])
            targets = [base] if node.module or len(base) > 1 else [base + [alias.name] for alias in node.names]
        else:
            modules = [node.module] if isinstance(node, ast.ImportFrom) else [alias.name for alias in node.names]
            targets = [m.split(".") for m in modules if m]
        found += [(node.lineno, target[1]) for target in targets if target[0] == "spacy_xmr" and len(target) > 1]
    return found


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py")


def _unit(path: Path) -> str:
    return _module_name(path)[1]


def test_every_unit_has_a_layer():
    units = {_unit(path) for path in _sources()}
    assert units - set(LAYER_OF) == set(), "new top-level module or package: add it to LAYERS in this test"


def test_no_import_goes_up_a_layer_or_between_xmr_and_rerank():
    wrong = []
    for path in _sources():
        unit = _unit(path)
        for line, target in imported_units(path):
            if target == unit or target not in LAYER_OF:
                continue
            if LAYER_OF[target] > LAYER_OF[unit] or (unit, target) in NEVER:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports spacy_xmr.{target}")
    assert wrong == []


@pytest.mark.parametrize("source, expected", [
    ("from ..xmr import XMRModel\n", ["xmr"]),
    ("def f():\n    from ..xmr.model import XMRModel\n", ["xmr"]),
    ("import spacy_xmr.xmr.model\n", ["xmr"]),
    ("from spacy_xmr.rerank import Reranker\n", ["rerank"]),
    ("from .. import xmr, corpus\n", ["xmr", "corpus"]),
    ("from .labels import accuracy_at_1\n", ["rerank"]),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..xmr import XMRModel\n", []),
    ("import numpy\n", []),
])
def test_imports_are_resolved_to_units(tmp_path, source, expected):
    """The parser itself: relative, absolute, lazy and type-only imports of a module in spacy_xmr/rerank/."""
    package = tmp_path / "spacy_xmr"
    (package / "rerank").mkdir(parents=True)
    path = package / "rerank" / "probe.py"
    path.write_text(source, encoding="utf8")
    assert [unit for _, unit in imported_units(path, root=package)] == expected
