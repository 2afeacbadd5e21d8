"""Data flows corpus -> index -> rag -> api; nothing imports backwards. The CLI module is the composition root
(it starts the server and the eval harness), so it alone may reach right."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["corpus", "index", "rag", "api"]
FORBIDDEN = {pkg: set(ORDER[i + 1 :]) | {"eval"} for i, pkg in enumerate(ORDER)}
EXEMPT = {Path("rag/cli.py")}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", ORDER)
def test_no_backward_imports(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    for path in files:
        if path.relative_to(ROOT) in EXEMPT:
            continue
        bad = _imports(path) & FORBIDDEN[package]
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
