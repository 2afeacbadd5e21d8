from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from corpus.errors import IndexLoadError
from index import store
from index.collection import Collection, Notify
from index.embed import Embedder
from rag.config import Settings
from rag.retrieve import Retriever


@pytest.fixture
def own_index(tmp_path: Path, retriever: Retriever, settings: Settings) -> Settings:
    """A private copy of the session index that a test may damage or extend."""
    assert retriever.index.directory is not None
    target = tmp_path / "idx"
    shutil.copytree(retriever.index.directory, target)
    return settings.replace(index_dir=target)


def _collection(s: Settings, embedder: Embedder, notify: Notify) -> Collection:
    return Collection(s.index_dir, s.corpus_path, embedder, s.faiss_kind, notify, progress=False)


def test_round_trip_build_load_search(retriever: Retriever, settings: Settings) -> None:
    loaded = store.load(settings.index_dir)
    m = loaded.manifest
    assert m.counts["sections"] == 262 and m.counts["passages"] == len(loaded.passages) > 262
    assert m.embed_model == "sentence-transformers/all-MiniLM-L6-v2" and m.embed_dim == 384
    assert m.faiss_kind == "flat" and m.chunker.startswith("chunk-v2") and m.created_at
    assert loaded.faiss.ntotal == len(loaded.passages)
    hits = retriever.search("what does the stable in stable diffusion mean", k=3).hits
    assert hits[0].heading == "What does the “stable” in stable diffusion refer to?"


def test_stale_manifest_triggers_rebuild(own_index: Settings, embedder: Embedder) -> None:
    path = own_index.index_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["chunker"] = "chunk-v0:old"
    path.write_text(json.dumps(manifest))
    said: list[str] = []
    index = _collection(own_index, embedder, said.append).open()
    assert any("out of date" in s and "chunk-v0:old" in s for s in said)
    assert index.manifest.chunker != "chunk-v0:old"
    assert store.read_manifest(own_index.index_dir).chunker == index.manifest.chunker


def test_changed_default_corpus_triggers_rebuild(
    own_index: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(own_index.corpus_path.read_text(encoding="utf-8") + "\nextra line\n", encoding="utf-8")
    said: list[str] = []
    _collection(own_index.replace(corpus_path=corpus), embedder, said.append).open()
    assert any("default corpus is not" in s for s in said)


@pytest.mark.parametrize(
    ("victim", "damage", "expected"),
    [
        ("manifest.json", "{not json", "corrupt"),
        ("faiss.index", b"\x00garbage", "corrupt"),
        ("passages.jsonl", None, "missing"),
        ("vectors.npy", b"\x93NUMPY broken", "corrupt"),
        ("bm25", None, "missing"),
    ],
)
def test_corrupt_or_missing_file_gives_clear_error(
    own_index: Settings, victim: str, damage: str | bytes | None, expected: str
) -> None:
    target = own_index.index_dir / victim
    if damage is None:
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    elif isinstance(damage, bytes):
        target.write_bytes(damage)
    else:
        target.write_text(damage)
    with pytest.raises(IndexLoadError) as err:
        store.load(own_index.index_dir)
    assert expected in str(err.value) and "askdoc index build --rebuild" in str(err.value)


def test_missing_index_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexLoadError, match="no index at"):
        store.load(tmp_path / "nowhere")


def test_interrupted_build_leaves_previous_index_usable(
    own_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = store.load(own_index.index_dir)

    def boom(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "save_faiss", boom)
    with pytest.raises(KeyboardInterrupt):
        store.save(before, own_index.index_dir)
    after = store.load(own_index.index_dir)
    assert after.manifest.created_at == before.manifest.created_at
    assert len(after.passages) == len(before.passages)
    leftovers = [p.name for p in own_index.index_dir.parent.iterdir() if ".tmp-" in p.name]
    assert leftovers == []


def test_add_markdown_then_unchanged_readd_is_a_noop(
    own_index: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    doc = tmp_path / "runbook.md"
    doc.write_text(
        "# Runbook\n## Restarting the frobnicator\nRun `frob restart --graceful` and wait for the "
        "green lamp.\n## Rotating keys\nKeys rotate every 90 days via the vault job.\n",
        encoding="utf-8",
    )
    said: list[str] = []
    index = _collection(own_index, embedder, said.append).add([doc])
    assert index.manifest.counts["documents"] == 2
    assert {"runbook/restarting-the-frobnicator", "runbook/rotating-keys"} <= set(index.sections)
    r = Retriever(own_index, embedder=embedder, progress=False)
    hit = r.search("how often do keys get rotated?", k=1).hits[0]
    assert hit.section_id == "runbook/rotating-keys"

    created = store.read_manifest(own_index.index_dir).created_at
    said.clear()
    _collection(own_index, embedder, said.append).add([doc])
    assert any("unchanged" in s for s in said)
    assert store.read_manifest(own_index.index_dir).created_at == created

    doc.write_text("# Runbook\n## Rotating keys\nKeys now rotate every 30 days.\n", encoding="utf-8")
    index = _collection(own_index, embedder, said.append).add([doc])
    runbook = [s for s in index.sections if s.startswith("runbook/")]
    assert sorted(runbook) == ["runbook/rotating-keys", "runbook/runbook"]
    assert "30 days" in index.sections["runbook/rotating-keys"].text
    assert index.manifest.counts["sections"] == 262 + 2
