"""Data flows corpus -> index -> rag -> api; nothing imports backwards. The eval harness sits on top of rag; the
command line is a way in beside api and the composition root (it starts the server and the eval harness), so it
may import everything, and nothing imports it. No file is exempt."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["corpus", "index", "rag", "api"]
FORBIDDEN = {pkg: set(ORDER[i + 1 :]) | {"eval", "cli"} for i, pkg in enumerate(ORDER)}
FORBIDDEN["eval"] = {"api", "cli"}
FORBIDDEN["cli"] = set()
PACKAGES = [*ORDER, "eval", "cli"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", PACKAGES)
def test_no_backward_imports(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    for path in files:
        bad = _imports(path) & FORBIDDEN[package]
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
