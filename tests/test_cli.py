"""The installed `askdoc` console script, run as a user would (real process, real index)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag.retrieve import Retriever

ASKDOC = shutil.which("askdoc") or str(Path(sys.executable).parent / "askdoc")


def run(args: list[str], index_dir: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASKDOC_INDEX_DIR": str(index_dir), "ASKDOC_DEVICE": "cpu"}
    return subprocess.run(
        [ASKDOC, *args], input=stdin, capture_output=True, text=True, env=env, timeout=300, check=False
    )


def test_search_json(retriever: Retriever, index_dir: Path) -> None:
    out = run(["search", "what is a seed in LLM sampling", "--json", "--k", "3"], index_dir)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["query"] == "what is a seed in LLM sampling" and data["mode"] == "hybrid"
    assert len(data["results"]) == 3
    assert all(
        set(r) >= {"rank", "section_id", "heading", "category", "score", "snippet"} for r in data["results"]
    )


def test_batch_mode_keeps_order_and_survives_bad_lines(retriever: Retriever, index_dir: Path) -> None:
    questions = ["what is redis", "", "explain label smoothing", "x" * 3000]
    out = run(["search", "-", "--mode", "bm25", "--k", "2"], index_dir, stdin="\n".join(questions) + "\n")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["query"] for r in rows] == questions
    assert rows[0]["results"][0]["heading"] == "What is Redis?"
    assert rows[1]["results"] == [] and "empty" in rows[1]["error"]
    assert rows[2]["results"][0]["heading"] == "Explain Label Smoothing"
    assert "limit" in rows[3]["error"]


def test_human_output(retriever: Retriever, index_dir: Path) -> None:
    out = run(["search", "explain label smoothing", "--k", "1"], index_dir)
    assert out.returncode == 0 and out.stdout.startswith("1. Explain Label Smoothing\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [(["search", "   "], "the question is empty"), (["search", "hi", "--k", "0"], "k must be between")],
)
def test_user_mistakes_exit_2_without_traceback(
    retriever: Retriever, index_dir: Path, args: list[str], message: str
) -> None:
    out = run(args, index_dir)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr


def test_corrupt_index_is_reported_not_crashed(tmp_path: Path, retriever: Retriever) -> None:
    assert retriever.index.directory is not None
    broken = tmp_path / "idx"
    shutil.copytree(retriever.index.directory, broken)
    (broken / "faiss.index").write_bytes(b"not faiss")
    out = run(["search", "what is redis"], broken)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "faiss.index is corrupt" in out.stderr and "--rebuild" in out.stderr
    info = run(["index", "info", "--json"], broken)
    assert info.returncode == 0 and json.loads(info.stdout)["counts"]["sections"] == 262
