"""The embedder's backends (index/embedders/) and the sentence vectors stored with the index (index/sentences.py),
on the real corpus and the real bundled model."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from servers import child_env
from test_cli import ASKDOC

from corpus.errors import InvalidInputError, ModelNotFoundError
from corpus.model import Document
from corpus.text import split_sentences
from index.embed import Embedder
from index.embedders import choose_backend, onnx_dir
from index.embedders.onnx_export import ONNX_FILE
from index.models import resolve_model
from index.sentences import SENTENCES_FILE, section_sentences
from rag.config import Settings
from rag.pipeline import AskDoc
from rag.retrieve import Retriever

FOCAL = "What is focal loss?"


def test_onnx_vectors_equal_sentence_transformers(seed_doc: Document, embedder: Embedder) -> None:
    """The onnx backend (what a CPU runs by default) gives sentence-transformers' own vectors, for passages up to
    and past the 256-token window, and for short sentences."""
    assert embedder.backend_name == "onnx"
    sections = seed_doc.sections[::4]
    texts = [s.heading + "\n" + s.text for s in sections]  # whole sections: many past the window (truncated)
    texts += [t for s in sections for t in split_sentences(s.text)][:400]
    reference = Embedder(embedder.model_id, "cpu", backend="torch")
    assert reference.backend_name == "torch"
    ours, theirs = embedder.embed(texts), reference.embed(texts)
    assert np.abs(ours - theirs).max() < 1e-5
    assert float((ours * theirs).sum(axis=1).min()) >= 0.99999
    assert [embedder.count_tokens(t) for t in texts[:50]] == [reference.count_tokens(t) for t in texts[:50]]


def test_a_backend_that_cannot_run_is_a_clear_error() -> None:
    path = resolve_model(Settings().embed_model)
    assert choose_backend("auto", path, "cpu") == "onnx"
    assert choose_backend("auto", path, "cuda") == "torch"  # the same model, on the GPU
    with pytest.raises(ModelNotFoundError, match="onnx backend runs on the CPU only"):
        choose_backend("onnx", path, "cuda")
    with pytest.raises(InvalidInputError, match="unknown embed_backend 'tensorflow'"):
        Settings.from_env(embed_backend="tensorflow")


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_the_onnx_export_is_made_again_when_missing_or_corrupt(
    own_index: Settings, settings: Settings, damage: str
) -> None:
    """A missing or damaged export is re-exported from the weights, with one line on stderr and no traceback; then
    `askdoc index info --json` reports the backend and a ready export."""
    export = onnx_dir(own_index.index_dir)
    shutil.copytree(onnx_dir(settings.index_dir), export)
    if damage == "missing":
        shutil.rmtree(export)
    else:
        size = (export / ONNX_FILE).stat().st_size
        (export / ONNX_FILE).write_bytes(b"\x00garbage" * (size // 8) + b"\x00" * (size % 8))  # same size
    env = child_env(index_dir=str(own_index.index_dir), device="cpu")
    command = [ASKDOC, "search", "focal loss", "--json"]
    out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"askdoc: exporting the embedder to ONNX in {export}"), lines
    assert json.loads(out.stdout)["results"][0]["section_id"].startswith("what-is-focal-loss")
    command = [ASKDOC, "index", "info", "--json"]
    info = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=True)
    backend = json.loads(info.stdout)["embed_backend"]
    assert backend == {"setting": "auto", "backend": "onnx", "path": str(export), "state": "ready"}


def test_the_index_stores_every_sections_sentence_vectors(retriever: Retriever, embedder: Embedder) -> None:
    """Built with the index: the vectors an answer would otherwise embed at query time, the same ones."""
    index = retriever.index
    assert index.sentences is not None
    assert index.directory is not None and (index.directory / SENTENCES_FILE).is_file()
    assert set(index.sentences.ids) == set(index.sections)
    section = index.sections["what-is-focal-loss-how-does-it-help-mitigate-class-imbalance"]
    texts = section_sentences(section)
    stored = index.sentences.get(section.id, texts)
    assert stored is not None and stored.shape == (len(texts), embedder.dim)
    assert np.abs(stored - embedder.embed(texts)).max() < 1e-6
    assert index.sentences.get(section.id, [*texts, "A sentence the section does not have."]) is None


def test_an_index_without_stored_sentence_vectors_still_answers(
    own_index: Settings, askdoc: AskDoc, embedder: Embedder
) -> None:
    """An index written before sentences.npz existed loads, and its answers embed the sentences on demand: the
    same answer as from the stored vectors."""
    (own_index.index_dir / SENTENCES_FILE).unlink()
    old = AskDoc(own_index, retriever=Retriever(own_index, embedder=embedder, progress=False), progress=False)
    assert old.retriever.index.sentences is None
    answer = old.ask(FOCAL, style="extractive")
    expected = askdoc.ask(FOCAL, style="extractive")
    assert answer.mode == expected.mode == "extractive" and answer.answer == expected.answer
    assert [s.section_id for s in answer.sources] == [s.section_id for s in expected.sources]
    # Stored vectors were embedded many sections to a call, these one section at a time: equal up to rounding.
    assert [s.score for s in answer.sources] == pytest.approx([s.score for s in expected.sources], abs=1e-5)
