"""Bring your own documents: a PDF, an HTML page and Markdown added to a private copy of the session index, asked
about, re-added, changed, removed; bad files skipped with their reason; a kill during `index add` harmless."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from documents_factory import write_bad_files, write_html, write_markdown, write_pdf
from servers import ROOT, child_env

from cli.main import main
from corpus.errors import CollectionNotFoundError, InvalidInputError
from index import collections, store
from index.collection import Collection
from index.embed import Embedder
from rag.config import Settings
from rag.pipeline import AskDoc
from rag.rerank import reranker_status
from rag.rerank.artifacts import RERANKER_MANIFEST, reranker_dir
from rag.retrieve import Retriever


def _collection(s: Settings, embedder: Embedder) -> Collection:
    return Collection(s.index_dir, s.corpus_path, embedder, s.faiss_kind, progress=False, max_document_bytes=5000)


def _engine(s: Settings, embedder: Embedder) -> AskDoc:
    return AskDoc(s, retriever=Retriever(s, embedder=embedder, progress=False), progress=False)


def _spy(monkeypatch: pytest.MonkeyPatch, embedder: Embedder) -> list[str]:
    """The texts the embedder is asked to embed from now on (it still embeds them)."""
    seen: list[str] = []
    real = embedder.embed

    def embed(texts: list[str], progress: bool = False) -> np.ndarray:
        seen.extend(texts)
        return real(texts, progress)

    monkeypatch.setattr(embedder, "embed", embed)
    return seen


def test_own_documents_are_answered_with_page_and_heading(
    own_index: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    pdf, html = write_pdf(tmp_path / "report.pdf"), write_html(tmp_path / "quokka.html")
    md = write_markdown(tmp_path / "runbook.md")
    index, results = _collection(own_index, embedder).add([pdf, html, md])
    assert [(r.status, r.document) for r in results] == [("added", "report"), ("added", "quokka"), ("added", "runbook")]
    assert index.manifest.counts["documents"] == 4
    engine = _engine(own_index, embedder)
    answer = engine.ask("At what temperature does the Zorblax furnace melt the bronze?", style="extractive")
    assert not answer.refused and "1,234 degrees" in answer.answer
    cited = answer.to_json()["citations"][0]
    assert cited["section_id"] == "report/2-1-furnace-temperature" and cited["document"] == "report.pdf"
    assert cited["page"] == 2 and cited["heading_path"] == ["2 Operations", "2.1 Furnace temperature"]
    assert cited["reference"] == "report.pdf, p. 2, § 2.1 Furnace temperature"
    hit = engine.search("what does an adult quokka eat every evening", k=1).to_json()["results"][0]
    assert hit["section_id"] == "quokka/feeding" and hit["heading_path"] == ["Quokka care", "Feeding"]
    assert hit["document"] == "quokka.html" and hit["page"] is None
    refused = engine.ask("What is the airspeed of an unladen swallow?", style="extractive")
    assert refused.refused and refused.answer == "The documents do not cover this question."  # several now


ERROR_TABLE = """# BrewMaster manual
## Error codes
| Code | Meaning | What to do |
|------|---------|------------|
| E01 | Water tank empty | Refill the tank and push it firmly into place |
| E02 | Boiler overheated | Switch off and let the machine cool for 30 minutes |
| E05 | Pump blocked | Descale; if E05 returns, contact service |
| E09 | Temperature sensor fault | Contact service; do not use the machine |
"""


def test_a_table_answer_quotes_the_rows_the_question_names(
    own_index: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    """Each row is one record: a question about one error code gets that row, not its neighbours; one that only
    names the table's columns gets the whole table."""
    (tmp_path / "brewmaster.md").write_text(ERROR_TABLE, encoding="utf-8")
    _collection(own_index, embedder).add([tmp_path / "brewmaster.md"])
    engine = _engine(own_index, embedder)

    def rows(question: str) -> list[str]:
        answer = engine.ask(question, style="extractive", refuse_below=0.0).to_json()
        assert answer["citations"][0]["section_id"] == "brewmaster/error-codes", answer
        return [s["text"].split(";")[0] for s in answer["sentences"]]

    assert rows("What does error E02 mean on the BrewMaster?") == ["Code: E02"]
    assert rows("BrewMaster: which error codes mean I should contact service?") == ["Code: E05", "Code: E09"]
    assert rows("Which error codes does the BrewMaster show?") == ["Code: E01", "Code: E02", "Code: E05", "Code: E09"]


def test_readd_is_a_noop_and_a_change_replaces_only_its_sections(
    own_index: Settings, embedder: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf, md = write_pdf(tmp_path / "report.pdf"), write_markdown(tmp_path / "runbook.md")
    before, _ = _collection(own_index, embedder).add([pdf, md])
    seen = _spy(monkeypatch, embedder)
    _, results = _collection(own_index, embedder).add([pdf, md])
    assert [r.status for r in results] == ["unchanged", "unchanged"] and seen == []
    assert store.read_manifest(own_index.index_dir).created_at == before.manifest.created_at

    write_markdown(md, interval="30 days")
    after, results = _collection(own_index, embedder).add([pdf, md])
    assert [r.status for r in results] == ["unchanged", "replaced"]
    # Only the changed passage and its changed sentence were embedded (sentence vectors are stored with the index
    # too); every other passage kept its vector, the PDF's included.
    assert len(seen) == 2 and all("30 days" in text for text in seen), seen
    old = {p.id: before.vectors[i] for i, p in enumerate(before.passages)}
    for i, p in enumerate(after.passages):
        if p.section_id != "runbook/rotating-keys":
            np.testing.assert_array_equal(after.vectors[i], old[p.id])
    assert "30 days" in after.sections["runbook/rotating-keys"].text
    assert after.manifest.counts == before.manifest.counts
    assert store.load(own_index.index_dir).faiss.ntotal == len(after.passages)


def test_a_moved_file_keeps_its_document_and_follows_its_new_path(
    own_index: Settings, embedder: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder moved (or a file renamed) and added again: the same document under its id, now at the new path,
    not a duplicate skipped while the index keeps the dead path; an edit there is then followed."""
    (tmp_path / "notes").mkdir()
    md = write_markdown(tmp_path / "notes" / "runbook.md")
    before, _ = _collection(own_index, embedder).add([md])
    (tmp_path / "notes").rename(tmp_path / "archive")
    moved = tmp_path / "archive" / "runbook.md"
    seen = _spy(monkeypatch, embedder)
    after, results = _collection(own_index, embedder).add([moved])
    assert [(r.status, r.document, r.moved_from) for r in results] == [("replaced", "runbook", str(md.resolve()))]
    assert f"(moved from {md.resolve()}; 2 sections, id runbook)" in results[0].line()
    assert seen == [] and after.manifest.counts == before.manifest.counts  # nothing embedded again
    assert [r.path for r in after.manifest.documents if not r.default] == [str(moved.resolve())]
    write_markdown(moved, interval="30 days")
    answer = _engine(own_index, embedder).ask("How often do the frobnicator's vault keys rotate?", style="extractive")
    assert "30 days" in answer.answer and "90 days" not in answer.answer
    # Moved over another indexed file (`mv -f notes.md runbook.md`): that one is replaced, the moved one's record goes.
    notes = write_html(tmp_path / "archive" / "notes.html")
    _collection(own_index, embedder).add([notes])
    notes.replace(moved)
    index, results = _collection(own_index, embedder).add([moved])
    assert [(r.status, r.document, r.moved_from) for r in results] == [("replaced", "runbook", str(notes.resolve()))]
    assert [r.path for r in index.manifest.documents if not r.default] == [str(moved.resolve())]


def test_a_changed_file_is_reread_on_open_and_a_broken_one_keeps_its_indexed_version(
    own_index: Settings, embedder: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ask` and `search` open the collection: a document changed on disk is re-read then, alone (as `index add`
    would); a file caught empty or half-written (an editor saving it) keeps its indexed version instead of
    leaving the collection, and so does every document when something else forces a full rebuild."""
    pdf, md = write_pdf(tmp_path / "report.pdf"), write_markdown(tmp_path / "runbook.md")
    before, _ = _collection(own_index, embedder).add([pdf, md])
    said: list[str] = []
    named = Collection(own_index.index_dir, own_index.corpus_path, embedder, notify=said.append, progress=False)
    write_markdown(md, interval="30 days")
    seen = _spy(monkeypatch, embedder)
    index = named.open()
    assert said == ["runbook.md changed since the index was built: re-reading"]
    assert "30 days" in index.sections["runbook/rotating-keys"].text and seen and all("30 days" in t for t in seen)
    assert index.manifest.counts == before.manifest.counts and named.changed_documents(index.manifest) == []

    md.write_text("")  # caught mid-save
    said.clear()
    index = named.open()
    assert said[-1] == (
        f"{md}: the document is empty; the index keeps the version it has (`askdoc index remove runbook` drops it)"
    )
    assert [r.name for r in index.manifest.documents] == [r.name for r in before.manifest.documents]
    assert "30 days" in store.load(own_index.index_dir).sections["runbook/rotating-keys"].text
    manifest = own_index.index_dir / "manifest.json"  # a full rebuild (another FAISS kind asked for) keeps it too
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps(data | {"faiss_kind": "hnsw"}))
    said.clear()
    index = named.open()
    assert f"{md}: the document is empty; the rebuilt index keeps the version it had" in said, said
    assert index.manifest.faiss_kind == "flat" and index.manifest.counts == before.manifest.counts
    assert "30 days" in index.sections["runbook/rotating-keys"].text


def test_a_heading_with_only_sub_headings_is_carried_by_them(
    own_index: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    """ "## Troubleshooting" with nothing under it but "### …" sub-sections is no section of its own (a one-word
    passage that outranked them); its sub-sections' passages carry it, so a question naming it finds them."""
    md = tmp_path / "flowpipe.md"
    md.write_text(
        "# FlowPipe\nFlowPipe ships log lines to a collector.\n## Installation\n### Linux\nInstall the deb package"
        " and start the flowpipe service.\n## Troubleshooting\n### High memory usage\nLower batch_size to 200 and"
        " restart the agent.\n### Lost offsets\nDelete the offsets file and replay from the last checkpoint.\n",
        encoding="utf-8",
    )
    index, _ = _collection(own_index, embedder).add([md])
    ids = [s.id for s in index.sections.values() if s.id.startswith("flowpipe/")]
    assert ids == ["flowpipe/flowpipe", "flowpipe/linux", "flowpipe/high-memory-usage", "flowpipe/lost-offsets"]
    hits = [h.section_id for h in _engine(own_index, embedder).search("What troubleshooting advice is there?").hits]
    assert hits[0] in {"flowpipe/high-memory-usage", "flowpipe/lost-offsets"}, hits  # the guide is there too
    # the document's title too: it is the one top heading all its sections sit under
    contexts = [p.context for p in index.passages if p.section_id == "flowpipe/lost-offsets"]
    assert contexts == ["FlowPipe › Troubleshooting"]
    answer = _engine(own_index, embedder).ask("How do I fix lost offsets in FlowPipe?", style="extractive")
    assert answer.to_json()["citations"][0]["reference"] == "flowpipe.md, § Troubleshooting › Lost offsets"


def test_a_served_engine_follows_what_another_process_writes(
    own_index: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    """A server's engine sees an add or a remove done beside it (another worker, the CLI) at its next request."""
    engine = _engine(own_index, embedder)
    question = "what does an adult quokka eat every evening"
    assert not engine.search(question, k=1).hits[0].section_id.startswith("quokka/")
    assert not engine.retriever.follow_disk()  # nothing changed on disk
    _collection(own_index, embedder).add([write_html(tmp_path / "quokka.html")])  # another writer
    assert not engine.search(question, k=1).hits[0].section_id.startswith("quokka/")  # not followed yet
    engine.follow_disk()
    assert engine.search(question, k=1).hits[0].section_id == "quokka/feeding"
    assert not engine.retriever.follow_disk()  # loaded once
    _collection(own_index, embedder).remove("quokka.html")
    assert engine.retriever.follow_disk()
    assert not engine.search(question, k=1).hits[0].section_id.startswith("quokka/")


def test_a_served_engine_follows_a_file_edited_on_disk(own_index: Settings, embedder: Embedder, tmp_path: Path) -> None:
    """A server answers from an edited file's new text at its next request (as `askdoc ask` does when it opens the
    collection), and tries each edit once: a file left empty is said once, not at every request."""
    md = write_markdown(tmp_path / "runbook.md")
    _collection(own_index, embedder).add([md])
    said: list[str] = []
    engine = AskDoc(own_index, Retriever(own_index, embedder=embedder, notify=said.append, progress=False), said.append)
    question = "How often do the frobnicator's vault keys rotate?"
    assert "90 days" in engine.ask(question, style="extractive").answer
    engine.follow_disk()
    assert said == []  # nothing edited
    write_markdown(md, interval="30 days")
    engine.follow_disk()
    assert said == ["runbook.md changed since the index was built: re-reading"]
    assert "30 days" in engine.ask(question, style="extractive").answer
    md.write_text("")
    engine.follow_disk()
    engine.follow_disk()
    assert len(said) == 3 and "keeps the version it has" in said[2], said  # said once
    assert "30 days" in engine.ask(question, style="extractive").answer


def test_a_served_engine_follows_its_collection_moved_or_removed(
    own_index: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    """The default collection moves into <folder>/default/ when a second collection appears, and a collection
    whose last document is removed is gone: a running server used to keep serving what it had loaded."""
    engine = _engine(own_index, embedder)
    question = "what does an adult quokka eat every evening"
    assert not engine.search(question, k=1).hits[0].section_id.startswith("quokka/")
    collections.make_room(own_index.index_dir, lambda _: None)  # what the first `index add --collection` does
    assert not engine.retriever.follow_disk()  # the same files, moved: nothing to load ...
    assert engine.retriever.index.directory == own_index.index_dir / "default"  # ... but followed
    _collection(own_index.replace(index_dir=own_index.index_dir / "default"), embedder).add(
        [write_html(tmp_path / "quokka.html")]
    )
    assert engine.retriever.follow_disk()
    assert engine.search(question, k=1).hits[0].section_id == "quokka/feeding"

    pets = own_index.replace(collection="pets")
    named = Collection(own_index.index_dir / "pets", None, embedder, pets.faiss_kind, progress=False, name="pets")
    named.add([write_markdown(tmp_path / "runbook.md")])
    served = _engine(pets, embedder)
    assert served.search("how often do the vault keys rotate", k=1).hits[0].section_id == "runbook/rotating-keys"
    assert named.remove("runbook.md")[0] is None  # its last document: the collection is gone
    with pytest.raises(CollectionNotFoundError, match="'pets' does not exist"):
        served.follow_disk()
    with pytest.raises(CollectionNotFoundError):  # and stays gone, without a lookup on disk at each request
        served.search("how often do the vault keys rotate", k=1)
    named.add([write_html(tmp_path / "quokka.html")])  # made again from the shell: served afresh
    served.follow_disk()
    assert served.search("what does an adult quokka eat every evening", k=1).hits[0].section_id == "quokka/feeding"


def test_duplicate_content_under_another_name_is_skipped(
    own_index: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    md = write_markdown(tmp_path / "runbook.md")
    copy = tmp_path / "copy.md"
    copy.write_bytes(md.read_bytes())
    index, results = _collection(own_index, embedder).add([md, copy])
    assert [r.status for r in results] == ["added", "skipped"]
    assert results[1].reason == "duplicate of runbook.md (same content, id runbook)"
    assert index.manifest.counts["documents"] == 2
    # One new file under two spellings: added once (it was "added" twice, as 'notes' and a missing 'notes-2').
    (tmp_path / "sub").mkdir()
    notes = write_html(tmp_path / "notes.html")
    index, results = _collection(own_index, embedder).add([tmp_path / "sub" / ".." / "notes.html", notes])
    assert [(r.status, r.reason) for r in results] == [
        ("added", ""),
        ("skipped", "the same file as an earlier one of this add"),
    ]
    assert index.manifest.counts["documents"] == 3 and any(s.startswith("notes/") for s in index.sections)


def test_removing_a_document_removes_its_answers_and_invalidates_the_reranker(
    own_index: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    html = write_html(tmp_path / "quokka.html")
    added, _ = _collection(own_index, embedder).add([html])
    # A reranker trained for the collection with the page in it (its manifest is what says which collection).
    trained = reranker_dir(own_index.index_dir)
    trained.mkdir()
    (trained / RERANKER_MANIFEST).write_text(json.dumps({"corpus_hash": added.manifest.corpus_hash}))
    assert reranker_status(own_index, added.manifest.corpus_hash)["state"] == "current"
    index, record = _collection(own_index, embedder).remove("quokka.html")
    assert record.name == "quokka.html"
    assert not any(s.startswith("quokka/") for s in index.sections)
    assert not any(p.section_id.startswith("quokka/") for p in index.passages)
    loaded = store.load(own_index.index_dir)
    assert loaded.faiss.ntotal == len(loaded.passages) == len(index.passages) < len(added.passages)
    assert reranker_status(own_index, loaded.manifest.corpus_hash)["state"] == "stale"
    hits = _engine(own_index, embedder).search("what does an adult quokka eat every evening", k=5).hits
    assert not any(h.section_id.startswith("quokka/") for h in hits)
    with pytest.raises(InvalidInputError, match=r"no document .quokka\.html."):
        _collection(own_index, embedder).remove("quokka.html")
    with pytest.raises(InvalidInputError, match="default corpus cannot be removed"):
        _collection(own_index, embedder).remove("default")


def test_bad_files_are_skipped_with_a_reason_and_leave_the_index_as_it_was(
    own_index: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    expected = write_bad_files(tmp_path / "bad")
    before = store.read_manifest(own_index.index_dir)
    paths = [tmp_path / "bad" / name for name in expected]
    _, results = _collection(own_index, embedder).add(paths)
    for result, (name, says) in zip(results, expected.items(), strict=True):
        assert result.status == "skipped" and says in result.reason, (name, result)
        assert result.line().startswith(f"skipped    {tmp_path / 'bad' / name}: ") and "\n" not in result.line()
    assert store.read_manifest(own_index.index_dir).to_dict() == before.to_dict()
    # One good file among them: it is added, the bad ones still skipped.
    md = write_markdown(tmp_path / "runbook.md")
    index, results = _collection(own_index, embedder).add([*paths, md])
    assert [r.status for r in results] == ["skipped"] * 4 + ["added"]
    assert [r.name for r in index.manifest.documents] == [before.documents[0].name, "runbook.md"]


def test_cli_add_folder_list_and_remove(own_index: Settings, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "docs"
    write_bad_files(folder / "bad")
    write_pdf(folder / "report.pdf")
    (folder / "notes").mkdir()
    write_markdown(folder / "notes" / "runbook.md")
    (folder / "notes" / "skip.json").write_text("{}", encoding="utf-8")  # not a supported suffix: not walked
    (folder / "notes" / "elsewhere.md").symlink_to(write_markdown(tmp_path / "private.md"))  # outside: not walked
    env = ["--index-dir", str(own_index.index_dir)]
    os.environ["ASKDOC_MAX_DOCUMENT_BYTES"] = "5000"
    assert main(["index", "add", str(folder), *env]) == 2  # a file was skipped for an error
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 7 and out[-1].startswith("2 added, 0 replaced, 0 unchanged, 4 skipped; collection: 3 doc")
    assert any(line.startswith("skipped    ") and "big.txt: " in line and "limit" in line for line in out)
    assert any(line.startswith("added      ") and "report.pdf (5 sections, id report)" in line for line in out)
    assert main(["index", "add", str(folder), "--glob", "*.md", "--json", *env]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["summary"] == {"added": 0, "replaced": 0, "unchanged": 1, "skipped": 2}
    assert main(["index", "list", "--json", *env]) == 0
    listed = json.loads(capsys.readouterr().out)["documents"]
    assert [(d["id"], d["default"]) for d in listed] == [("default", True), ("runbook", False), ("report", False)]
    assert main(["search", "At what temperature does the Zorblax furnace melt the bronze?", "--k", "1", *env]) == 0
    assert "[report/2-1-furnace-temperature · report.pdf, p. 2 · " in capsys.readouterr().out  # which file, page
    assert all(d["file_exists"] for d in listed)
    (folder / "report.pdf").unlink()  # deleted on disk: still answered from, and `index list` says so
    assert main(["index", "list", *env]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "(file gone: answered from its indexed copy; `askdoc index remove report` drops it)" in rows["report"]
    assert "file gone" not in rows["runbook"]
    assert main(["index", "remove", "report", "nothing-such", *env]) == 2  # names checked first: nothing removed
    err = capsys.readouterr().err
    assert "askdoc: error: no document 'nothing-such' in the default collection" in err and "--collection" in err
    assert main(["index", "remove", "report", "report.pdf", *env]) == 0  # two names of one document
    assert capsys.readouterr().out.startswith("removed report.pdf (id report, 5 sections)\ncollection: 2 doc")
    assert main(["index", "remove", "report", *env]) == 2
    assert "askdoc: error: no document 'report'" in capsys.readouterr().err
    assert main(["index", "remove", "runbook", "--json", *env]) == 0  # as DELETE /documents/{id} answers
    removed = json.loads(capsys.readouterr().out)
    assert removed["removed"]["id"] == "runbook" and removed["documents"] == 1 and removed["collection"] == "default"


def test_a_kill_during_index_add_leaves_the_previous_index_loadable(own_index: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(40):
        text = " ".join(f"Fact {n}.{i}: the widget number {n} weighs {i * 7} grams." for i in range(120))
        (folder / f"doc{n:02d}.txt").write_text(text, encoding="utf-8")
    before = store.read_manifest(own_index.index_dir).to_dict()
    argv = [sys.executable, "-m", "cli.main", "index", "add", str(folder), "--index-dir", str(own_index.index_dir)]
    proc = subprocess.Popen(argv, cwd=ROOT, env=child_env(device="cpu"), stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the first file judged: ingestion is under way
    assert first.startswith("added"), first
    time.sleep(1.0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    loaded = store.load(own_index.index_dir)
    assert loaded.manifest.to_dict() == before and loaded.faiss.ntotal == len(loaded.passages)


def test_a_document_is_found_by_its_name_however_its_accents_are_encoded() -> None:
    """macOS stores "café" decomposed (e + combining accent); a user types it composed, or the other way round."""
    from index.documents import find_document
    from index.store import DocumentRecord

    decomposed = "cafe\u0301.md"
    records = [DocumentRecord(f"/notes/{decomposed}", decomposed, "0" * 64, "cafe/", 2)]
    assert find_document(records, "caf\u00e9.md") is records[0]
    assert find_document(records, "/notes/caf\u00e9.md") is records[0]
    with pytest.raises(InvalidInputError, match="no document"):
        find_document(records, "cafe.md")


def test_a_saved_pages_resource_folder_is_not_walked(tmp_path: Path) -> None:
    """ "Webpage, complete" saves ferry.html and ferry_files/ (its ads and frames as .html files): adding the folder
    adds the page, not its advertisements; a folder that only ends in "_files" is walked as any other."""
    from index.ingest import expand_paths

    (tmp_path / "ferry_files").mkdir()
    (tmp_path / "notes_files").mkdir()
    for name in ("ferry.html", "ferry_files/saved_resource.html", "notes_files/todo.md"):
        (tmp_path / name).write_text("<p>text</p>", encoding="utf-8")
    found = [p.relative_to(tmp_path).as_posix() for p in expand_paths([tmp_path])]
    assert found == ["ferry.html", "notes_files/todo.md"]
