from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import faiss
import pytest
from index_damage import DAMAGES, Damage

from corpus.errors import IndexLoadError, InvalidInputError
from eval.dataset import DEFAULT_QUERIES, load_questions
from index import store
from index.collection import Collection, Notify, quiet
from index.embed import Embedder
from index.kinds import EXACT_BELOW, resolve_kind
from index.lexical import TOKENIZER
from rag.config import Settings
from rag.retrieve import Retriever


def _collection(s: Settings, embedder: Embedder, notify: Notify) -> Collection:
    return Collection(s.index_dir, s.corpus_path, embedder, s.faiss_kind, notify, progress=False)


def test_round_trip_build_load_search(retriever: Retriever, settings: Settings) -> None:
    loaded = store.load(settings.index_dir)
    m = loaded.manifest
    assert m.counts["sections"] == 262 and m.counts["passages"] == len(loaded.passages) > 262
    assert m.embed_model == "sentence-transformers/all-MiniLM-L6-v2" and m.embed_dim == 384
    assert m.faiss_kind == "flat" and m.chunker.startswith("chunk-v7") and m.created_at
    assert loaded.faiss.ntotal == len(loaded.passages)
    hits = retriever.search("what does the stable in stable diffusion mean", k=3).hits
    assert hits[0].heading == "What does the “stable” in stable diffusion refer to?"


def test_stale_manifest_is_detected(own_index: Settings, embedder: Embedder) -> None:
    manifest = store.read_manifest(own_index.index_dir)
    collection = _collection(own_index, embedder, quiet)
    assert collection.stale_reasons(manifest) == []
    for name, value, says in [
        ("chunker", "chunk-v0:old", "chunked by chunk-v0:old"),
        ("embed_model", "other/model", "built with embedder 'other/model'"),
        ("faiss_kind", "hnsw", "FAISS index is 'hnsw'"),
        ("tokenizer", "ascii", "splits words by the 'ascii' rule, not 'unicode+dotted+dates+stop'"),
    ]:
        reasons = collection.stale_reasons(dataclasses.replace(manifest, **{name: value}))
        assert len(reasons) == 1 and says in reasons[0], (name, reasons)


def test_a_kind_forced_before_the_manifest_recorded_requests_is_kept(own_index: Settings) -> None:
    manifest = store.read_manifest(own_index.index_dir).to_dict()
    del manifest["faiss_request"]  # as an older askdoc wrote it
    assert store.Manifest.from_dict(manifest).faiss_request == "auto"  # flat: what auto picks anyway
    assert store.Manifest.from_dict(manifest | {"faiss_kind": "hnsw"}).faiss_request == "hnsw"  # was asked for


def test_stale_manifest_triggers_rebuild(
    own_index: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stale by its FAISS kind and its chunker (an index from an older askdoc): rebuilt, and every passage the new
    chunker cuts as the old one did keeps its vector (the guide's passages are all alike, so none is embedded)."""
    path = own_index.index_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["faiss_kind"], manifest["created_at"] = "hnsw", "2000-01-01T00:00:00+00:00"
    manifest["chunker"] = "chunk-v2:256:200:40"
    path.write_text(json.dumps(manifest))
    embedded: list[str] = []
    monkeypatch.setattr(embedder, "embed_in_calls", lambda texts, *_: embedded.extend(texts) or embedder.embed(texts))
    said: list[str] = []
    index = _collection(own_index, embedder, said.append).open()
    assert any("out of date" in s and "FAISS index is 'hnsw'" in s and "chunk-v2" in s for s in said), said
    assert index.manifest.faiss_kind == "flat" and index.manifest.created_at != manifest["created_at"]
    assert index.manifest.chunker.startswith("chunk-v7") and embedded == []
    assert store.read_manifest(own_index.index_dir).to_dict() == index.manifest.to_dict()


def test_an_index_from_before_unicode_words_is_rebuilt_keeping_its_vectors(
    own_index: Settings, embedder: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its manifest has no `tokenizer` key: its BM25 split "Zürich" into "z" and "rich". Only BM25 is rebuilt, from
    the stored passages: no vector is embedded again and no file read again (an added document whose file has
    moved away keeps its sections), and a word with an accented letter is then one word, however it is encoded."""
    note = tmp_path / "zurich.md"
    note.write_text("# Offices\n\n## Where is the Zürich office?\nThe Zürich office is on Bahnhofstraße 7.\n")
    _collection(own_index, embedder, quiet).add([note])
    note.unlink()
    path = own_index.index_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["tokenizer"]
    path.write_text(json.dumps(manifest))
    said: list[str] = []
    embedded: list[str] = []
    real = embedder.embed_in_calls

    def counted(texts: list[str], *args: object, **kwargs: object) -> object:
        embedded.extend(texts)
        return real(texts, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(embedder, "embed_in_calls", counted)
    index = _collection(own_index, embedder, said.append).open()
    assert any("'ascii' rule" in s for s in said) and index.manifest.tokenizer == TOKENIZER, said
    assert embedded == []  # every passage and sentence vector kept
    assert [r.name for r in index.manifest.documents] == [r["name"] for r in manifest["documents"]]
    assert index.manifest.counts == manifest["counts"]
    assert index.lexical.unknown_words("Explain the Sørensen–Dice coefficient") == ["Sørensen"]
    assert index.lexical.unknown_words("Is Zürich on Bahnhofstraße?") == []
    assert index.lexical.unknown_words("Is Zu\u0308rich on Bahnhofstrasse?") == ["Bahnhofstrasse"]  # decomposed ü
    assert _collection(own_index, embedder, quiet).stale_reasons(store.read_manifest(own_index.index_dir)) == []


def test_a_file_edited_before_a_keyword_index_rebuild_is_read_again(
    own_index: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    """The first command after an upgrade that rebuilds only BM25 answers from the file as it is now."""
    note = tmp_path / "brew.md"
    note.write_text("# Brewing\n\n## Steeping\nGreen tea steeps for 7 minutes in the Quillmoor pot.\n")
    _collection(own_index, embedder, quiet).add([note])
    note.write_text("# Brewing\n\n## Steeping\nGreen tea steeps for 25 minutes in the Quillmoor pot.\n")
    path = own_index.index_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["tokenizer"] = "unicode"
    path.write_text(json.dumps(manifest))
    said: list[str] = []
    index = _collection(own_index, embedder, said.append).open()
    assert any("'unicode' rule" in s for s in said) and any("brew.md changed" in s for s in said), said
    steeping = next(s for sid, s in index.sections.items() if sid.startswith("brew/"))
    assert "25 minutes" in steeping.text


def test_changed_default_corpus_triggers_rebuild(own_index: Settings, embedder: Embedder, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(own_index.corpus_path.read_text(encoding="utf-8") + "\nextra line\n", encoding="utf-8")
    said: list[str] = []
    _collection(own_index.replace(corpus_path=corpus), embedder, said.append).open()
    assert any("default corpus is not" in s for s in said)


@pytest.mark.parametrize(("damage", "name", "says"), DAMAGES)
def test_damaged_index_gives_one_line_error_naming_the_file(
    own_index: Settings, damage: Damage, name: str, says: str
) -> None:
    damage(own_index.index_dir)
    with pytest.raises(IndexLoadError) as err:
        store.load(own_index.index_dir)
    message = str(err.value)
    assert f"{name} {says}" in message and str(own_index.index_dir) in message
    assert "askdoc index build --rebuild" in message and "\n" not in message


def test_missing_index_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexLoadError, match="no index at"):
        store.load(tmp_path / "nowhere")


def test_interrupted_build_leaves_previous_index_usable(own_index: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
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


def test_add_markdown_then_unchanged_readd_is_a_noop(own_index: Settings, embedder: Embedder, tmp_path: Path) -> None:
    doc = tmp_path / "runbook.md"
    doc.write_text(
        "# Runbook\n## Restarting the frobnicator\nRun `frob restart --graceful` and wait for the "
        "green lamp.\n## Rotating keys\nKeys rotate every 90 days via the vault job.\n",
        encoding="utf-8",
    )
    said: list[str] = []
    index, results = _collection(own_index, embedder, said.append).add([doc])
    assert [r.status for r in results] == ["added"]
    assert index.manifest.counts["documents"] == 2
    assert {"runbook/restarting-the-frobnicator", "runbook/rotating-keys"} <= set(index.sections)
    r = Retriever(own_index, embedder=embedder, progress=False)
    hit = r.search("how often do keys get rotated?", k=1).hits[0]
    assert hit.section_id == "runbook/rotating-keys"

    created = store.read_manifest(own_index.index_dir).created_at
    _, results = _collection(own_index, embedder, said.append).add([doc])
    assert [r.status for r in results] == ["unchanged"]
    assert store.read_manifest(own_index.index_dir).created_at == created

    doc.write_text("# Runbook\n## Rotating keys\nKeys now rotate every 30 days.\n", encoding="utf-8")
    index, results = _collection(own_index, embedder, said.append).add([doc])
    assert [r.status for r in results] == ["replaced"]
    runbook = [s for s in index.sections if s.startswith("runbook/")]
    assert runbook == ["runbook/rotating-keys"]  # "# Runbook" has no text of its own: not a section
    assert "30 days" in index.sections["runbook/rotating-keys"].text
    assert index.manifest.counts["sections"] == 262 + 1


# --- FAISS index kind by collection size (index/kinds.py, bench/results/scale_1m.md) ----------------------------


def test_auto_kind_is_exact_for_the_default_corpus(retriever: Retriever, settings: Settings) -> None:
    assert settings.faiss_kind == ""  # as last built, and a new index is built "auto"
    assert retriever.index.manifest.faiss_request == "auto" and retriever.index.manifest.faiss_kind == "flat"
    assert isinstance(retriever.index.faiss, faiss.IndexFlatIP)
    assert [resolve_kind("auto", n) for n in (0, EXACT_BELOW - 1, EXACT_BELOW)] == ["flat", "flat", "ivf"]
    assert resolve_kind("hnsw", 10**7) == "hnsw" and resolve_kind("flat", 10**7) == "flat"
    with pytest.raises(InvalidInputError, match="unknown FAISS index kind 'annoy'; choose auto, flat, hnsw, ivf"):
        Settings.from_env(faiss_kind="annoy")


def test_auto_kind_above_the_threshold_builds_ivf_that_finds_the_same_sections(
    own_index: Settings, embedder: Embedder, retriever: Retriever
) -> None:
    # A threshold below the default corpus's size: "auto" must now want IVF, rebuild (reusing every vector) and
    # still find, for real dev-set questions, the sections that exact search finds.
    small = own_index.replace(faiss_exact_below=100)
    said: list[str] = []
    collection = dataclasses.replace(_collection(small, embedder, said.append), exact_below=100)
    index = collection.open()
    assert any("FAISS index is 'flat', settings ask for 'ivf'" in s for s in said), said
    assert index.manifest.faiss_kind == "ivf"
    loaded = store.load(small.index_dir)  # from disk: the lists memory-mapped
    assert loaded.manifest.faiss_kind == "ivf" and loaded.faiss.ntotal == len(loaded.passages)
    assert isinstance(faiss.downcast_index(loaded.faiss), faiss.IndexIVFScalarQuantizer)
    assert collection.stale_reasons(loaded.manifest) == []  # stays IVF: no rebuild on the next start
    approximate = Retriever(small, embedder=embedder, progress=False)
    questions = [q for q in load_questions(DEFAULT_QUERIES) if q.answerable][:40]
    same = sum(
        approximate.search(q.question, k=1, mode="dense").hits[0].section_id
        == retriever.search(q.question, k=1, mode="dense").hits[0].section_id
        for q in questions
    )
    assert same >= 0.95 * len(questions), same
    hits = approximate.search("what does the stable in stable diffusion mean", k=3).hits
    assert hits[0].heading == "What does the “stable” in stable diffusion refer to?"


def test_a_writer_that_waits_for_another_says_so(tmp_path: Path) -> None:
    """`askdoc index add` while another is adding to the same collection: one line says why it waits."""
    import threading

    said: list[str] = []
    holder = store.build_lock(tmp_path / "idx")
    holder.__enter__()
    waiter = threading.Thread(target=lambda: store.build_lock(tmp_path / "idx", said.append).__enter__())
    waiter.start()
    for _ in range(200):  # until it has said so (at most 2 s)
        if said:
            break
        threading.Event().wait(0.01)
    assert said == [f"waiting for another askdoc that is changing {tmp_path / 'idx'} to finish"]
    assert waiter.is_alive()  # still waiting
    holder.__exit__(None, None, None)
    waiter.join(timeout=5)
    assert not waiter.is_alive()
