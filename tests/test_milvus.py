"""The Milvus search backend (index/milvus_backend.py) on a real Milvus Lite file: the same answers as the FAISS
backend on the dev set's questions, through the retriever and the command line, and its failures as one line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from servers import child_env, free_port
from test_cli import ASKDOC, askdoc, one_line_error

from eval.dataset import DEFAULT_QUERIES, load_questions
from index.backend import open_backend
from index.embed import Embedder
from index.milvus_backend import MilvusBackend, collection_name
from index.store import assemble
from rag.retrieve import Retriever

SELF_ATTENTION = "what-is-self-attention"


@pytest.fixture(scope="module")
def milvus(tmp_path_factory: pytest.TempPathFactory, retriever: Retriever, embedder: Embedder) -> Retriever:
    """The session index served by Milvus Lite (a fresh file, filled from the stored vectors)."""
    uri = str(tmp_path_factory.mktemp("milvus") / "askdoc.db")
    settings = retriever.settings.replace(index_backend="milvus", milvus_uri=uri)
    r = Retriever(settings, embedder=embedder, index=retriever.index, progress=False)
    r.warm_up()
    return r


@pytest.fixture(scope="module")
def dev(retriever: Retriever) -> list[tuple[str, np.ndarray]]:
    """Every dev-set question as it is searched (spell-corrected), with its embedding."""
    questions = [retriever.prepare(q.question)[0] for q in load_questions(DEFAULT_QUERIES)]
    return list(zip(questions, retriever.embedder.embed(questions), strict=True))


def _top(r: Retriever, mode: str, dev: list[tuple[str, np.ndarray]]) -> list[list[str]]:
    return [[h.section_id for h in r.search(q, k=5, mode=mode, vector=v, cleaned=True).hits] for q, v in dev]


def test_dense_ranks_every_dev_question_as_faiss_does(
    retriever: Retriever, milvus: Retriever, dev: list[tuple[str, np.ndarray]]
) -> None:
    """Exact search on both sides: the same passages with the same cosines, in the same order up to float ties."""
    faiss_side, milvus_side = retriever.backend(retriever.index), milvus.backend(milvus.index)
    for _, vector in dev:
        rows_f, scores_f = faiss_side.dense(vector, 30)
        rows_m, scores_m = milvus_side.dense(vector, 30)
        np.testing.assert_allclose(scores_m, scores_f, atol=1e-5)
        ties = np.abs(np.diff(scores_f)) < 1e-5  # neighbours that may come in either order
        differ = np.flatnonzero(rows_f != rows_m)
        assert all(ties[max(i - 1, 0) : i + 1].any() for i in differ), (rows_f, rows_m)


def test_bm25_and_hybrid_agree_with_faiss_on_the_dev_set(
    retriever: Retriever, milvus: Retriever, dev: list[tuple[str, np.ndarray]]
) -> None:
    """Milvus's BM25 function is not bm25s, but it indexes askdoc's own tokens with bm25s's k1 and b: the top
    section agrees for (nearly) every dev question (measured: bench/results/milvus.md)."""
    for mode in ("bm25", "hybrid"):
        ours, theirs = _top(retriever, mode, dev), _top(milvus, mode, dev)
        same_top = np.mean([a[:1] == b[:1] for a, b in zip(ours, theirs, strict=True)])
        assert same_top >= 0.97, (mode, same_top)
    assert milvus.search("What is self-attention?", mode="hybrid").hits[0].section_id == SELF_ATTENTION


def test_the_collection_is_filled_from_the_stored_vectors_and_kept(tmp_path: Path, retriever: Retriever) -> None:
    """Switching backends embeds nothing: the rows are the index's passage rows with its stored vectors. Opened
    again, the collection is kept; a changed index gets a new collection and the old one is dropped."""
    index = retriever.index
    uri = str(tmp_path / "m.db")
    backend = open_backend("milvus", index, uri)
    assert isinstance(backend, MilvusBackend)
    got = backend.client.get(backend.collection, ids=[0, 5, len(index.passages) - 1], output_fields=["vec"])
    for row in got:
        np.testing.assert_allclose(row["vec"], index.vectors[row["row"]], atol=1e-6)
    again = MilvusBackend(index, uri)
    assert again.collection == backend.collection and backend.client.list_collections() == [backend.collection]
    smaller = assemble(index.manifest, list(index.sections.values()), index.passages[:-1], index.vectors[:-1])
    smaller.directory = index.directory
    changed = MilvusBackend(smaller, uri)
    assert changed.collection == collection_name(smaller) != backend.collection
    assert backend.client.list_collections() == [changed.collection]


def test_a_swapped_in_index_keeps_the_one_before_searchable(
    tmp_path: Path, retriever: Retriever, embedder: Embedder
) -> None:
    """The server swaps a changed index in while an answer may still read the old one: both stay searchable, and
    the collection is refilled by the swap, not by the next search."""
    index = retriever.index
    settings = retriever.settings.replace(index_backend="milvus", milvus_uri=str(tmp_path / "m.db"))
    r = Retriever(settings, embedder=embedder, index=index, progress=False)
    r.warm_up()
    smaller = assemble(index.manifest, list(index.sections.values()), index.passages[:-1], index.vectors[:-1])
    smaller.directory = index.directory
    r.use_index(smaller)
    names = sorted(r.backend(i).collection for i in (index, smaller))  # type: ignore[attr-defined]
    assert sorted(r.backend(smaller).client.list_collections()) == names  # type: ignore[attr-defined]
    for pinned in (index, smaller):
        assert r.search("What is self-attention?", index=pinned).hits[0].section_id == SELF_ATTENTION


def test_search_and_ask_through_the_command_line(
    tmp_path: Path,
    retriever: Retriever,
    index_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = child_env(index_dir=str(index_dir), device="cpu", index_backend="milvus", milvus_uri=str(tmp_path / "a.db"))
    args = [ASKDOC, "search", "What is self-attention?", "--json", "--k", "3"]
    out = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    assert SELF_ATTENTION in out.stdout
    assert all(line.startswith("askdoc: ") for line in out.stderr.splitlines()), out.stderr  # no library noise
    monkeypatch.setenv("ASKDOC_INDEX_BACKEND", "milvus")
    monkeypatch.setenv("ASKDOC_MILVUS_URI", str(tmp_path / "b.db"))
    code, out_text, err = askdoc(capsys, index_dir, "ask", "What is self-attention?", "--extractive")
    assert code == 0, err
    assert "[1]" in out_text and "self-attention" in out_text.lower()


@pytest.mark.parametrize(
    ("backend", "uri", "says"),
    [
        ("milvus", "http://127.0.0.1:{port}", "cannot open Milvus at http://127.0.0.1:"),
        ("milvus", "not-a-uri", "cannot open Milvus at not-a-uri"),
        ("elastic", "", "unknown index_backend 'elastic'"),
    ],
    ids=["nobody-listening", "malformed", "unknown-backend"],
)
def test_a_bad_backend_setting_is_one_line(
    retriever: Retriever,
    index_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
    uri: str,
    says: str,
) -> None:
    monkeypatch.setenv("ASKDOC_INDEX_BACKEND", backend)
    monkeypatch.setenv("ASKDOC_MILVUS_URI", uri.format(port=free_port()))
    code, out, err = askdoc(capsys, index_dir, "search", "What is self-attention?")
    assert says in one_line_error(code, err) and out == ""


def test_a_milvus_lite_file_in_use_by_another_process_is_one_line(milvus: Retriever, index_dir: Path) -> None:
    """This process holds the fixture's Milvus Lite file; a second askdoc on it is told so, not a traceback."""
    uri = milvus.settings.milvus_uri
    env = child_env(index_dir=str(index_dir), device="cpu", index_backend="milvus", milvus_uri=uri)
    out = subprocess.run(
        [ASKDOC, "search", "What is self-attention?"], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    line = one_line_error(out.returncode, out.stderr)
    assert f"cannot open Milvus at {uri}" in line and "one process at a time" in line
    assert out.stdout == ""
