"""Named collections: each its own index under ASKDOC_INDEX_DIR, searched and answered alone; a new one starts
empty; the default one keeps the guide and an index dir of the old layout (the default at its top) keeps working.
Real files, real models, on a private copy of the session index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from documents_factory import write_html, write_markdown, write_pdf

from cli.main import main
from corpus.errors import CollectionNotFoundError, InvalidInputError
from index import collections, store
from index.embed import Embedder
from rag.collection import open_collection
from rag.config import Settings
from rag.pipeline import AskDoc
from rag.retrieve import Retriever

FURNACE = "At what temperature does the Zorblax furnace melt the bronze?"


def _engine(s: Settings, embedder: Embedder) -> AskDoc:
    return AskDoc(s, retriever=Retriever(s, embedder=embedder, progress=False), progress=False)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_two_collections_answer_only_from_their_own_documents(
    own_index: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    papers = own_index.replace(collection="papers")
    with pytest.raises(CollectionNotFoundError, match="collection 'papers' does not exist"):
        _engine(papers, embedder).ask(FURNACE, style="extractive")
    open_collection(own_index, embedder, progress=False).add([write_html(tmp_path / "quokka.html")])
    pdf, md = write_pdf(tmp_path / "report.pdf"), write_markdown(tmp_path / "runbook.md")
    index, results = open_collection(papers, embedder, progress=False).add([pdf, md])
    assert index is not None and [r.status for r in results] == ["added", "added"]
    assert [r.name for r in index.manifest.documents] == ["report.pdf", "runbook.md"]  # no guide: it starts empty
    root = own_index.index_dir
    assert collections.names(root) == ["default", "papers"]
    assert (root / "default" / store.MANIFEST).exists() and (root / "papers" / store.MANIFEST).exists()

    answer = _engine(papers, embedder).ask(FURNACE, style="extractive")
    assert not answer.refused and "1,234 degrees" in answer.answer and answer.to_json()["collection"] == "papers"
    assert answer.to_json()["citations"][0]["section_id"] == "report/2-1-furnace-temperature"
    default = _engine(own_index, embedder)
    assert not any(sid.startswith("report/") for sid in default.retriever.index.sections)
    elsewhere = default.ask(FURNACE, style="extractive")
    assert "1,234" not in elsewhere.answer and elsewhere.to_json()["collection"] == "default"
    assert all(not c["section_id"].startswith("report/") for c in elsewhere.to_json()["citations"])
    guide = default.ask("What is label smoothing?", style="extractive")
    assert not guide.refused and guide.to_json()["citations"][0]["document"].startswith("interview_questions")
    quokka = default.search("what does an adult quokka eat every evening", k=1).to_json()
    assert quokka["results"][0]["section_id"] == "quokka/feeding" and quokka["collection"] == "default"

    before = _files(root / "default")
    index, removed = open_collection(papers, embedder, progress=False).remove("runbook")
    assert removed.name == "runbook.md" and index is not None and index.manifest.counts["documents"] == 1
    assert _files(root / "default") == before  # the other collection is untouched
    index, _ = open_collection(papers, embedder, progress=False).remove("report")
    assert index is None and collections.names(root) == ["default"]  # left empty: the collection is gone
    assert _files(root / "default") == before


def _askdoc(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([*args, "--index-dir", str(root), "--device", "cpu"])
    out, err = capsys.readouterr()
    return code, out, err


def test_an_old_layout_index_dir_is_the_default_collection_and_moves_without_a_rebuild(
    own_index: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = own_index.index_dir
    old = store.read_manifest(root)  # the old layout: the default's manifest at the top of ASKDOC_INDEX_DIR
    code, out, _ = _askdoc(capsys, root, "index", "collections", "--json")
    rows = json.loads(out)["collections"]
    assert code == 0 and [(r["name"], r["passages"]) for r in rows] == [("default", old.counts["passages"])]
    code, out, _ = _askdoc(capsys, root, "search", "explain label smoothing", "--k", "1", "--json")
    before = json.loads(out)
    assert code == 0 and before["collection"] == "default" and (root / store.MANIFEST).exists()

    code, out, err = _askdoc(capsys, root, "index", "add", "--collection", "papers", str(write_pdf(tmp_path / "r.pdf")))
    assert code == 0 and "added" in out and "collection papers: 1 document," in out, (out, err)
    moved = store.read_manifest(root / "default")
    assert not (root / store.MANIFEST).exists() and moved.to_dict() == old.to_dict()  # renamed, not rebuilt
    code, out, _ = _askdoc(capsys, root, "index", "collections")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("default") and lines[1].startswith("papers") and " 1 document " in lines[1]
    code, out, _ = _askdoc(capsys, root, "search", "explain label smoothing", "--k", "1", "--json")
    assert code == 0 and json.loads(out)["results"] == before["results"]  # the same index, now in root/default
    code, out, _ = _askdoc(capsys, root, "ask", FURNACE, "--collection", "papers", "--extractive", "--json")
    data = json.loads(out)
    assert code == 0 and data["collection"] == "papers" and "1,234 degrees" in data["answer"]
    code, out, _ = _askdoc(capsys, root, "index", "list", "--collection", "papers", "--json")
    assert code == 0 and [d["id"] for d in json.loads(out)["documents"]] == ["r"]
    code, _, err = _askdoc(capsys, root, "eval", "--collection", "papers", "--modes", "bm25")
    assert code == 2 and "give collection 'papers' questions of its own with --queries" in err  # not the guide's


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "what is dropout", "--collection", "nope", "--extractive"], "collection 'nope' does not exist"),
        (["search", "what is dropout", "--collection", "nope"], "collection 'nope' does not exist"),
        (["index", "list", "--collection", "nope"], "collection 'nope' does not exist"),
        (["index", "info", "--collection", "nope"], "collection 'nope' does not exist"),
        (["search", "what is dropout", "--collection", "../etc"], "bad collection name '../etc'"),
        (["index", "add", "x.md", "--collection", "Big Name"], "bad collection name 'Big Name'"),
    ],
)
def test_unknown_or_bad_collection_is_a_one_line_error(
    own_index: Settings, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = _askdoc(capsys, own_index.index_dir, *args)
    assert code == 2 and out == "" and err.startswith("askdoc: error: ") and message in err
    assert len(err.strip().splitlines()) == 1


def test_collection_names_are_short_slugs() -> None:
    for good in ("papers", "q3-reports", "a", "x_1"):
        assert collections.check_name(good) == good
    for bad in ("", "Papers", "-x", ".hidden", "a/b", "..", "x" * 33, "über"):
        with pytest.raises(InvalidInputError, match="bad collection name"):
            collections.check_name(bad)


def _job(client: Any, response: Any) -> dict[str, Any]:
    import time

    job = response.json()
    deadline = time.monotonic() + 300
    while job["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
        job = client.get(f"/documents/jobs/{job['id']}").json()
    return job  # type: ignore[no-any-return]


def test_http_collection_field_and_query(own_index: Settings, embedder: Embedder, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient
    from scripted_llm import ScriptedChat

    from api.app import create_app

    engine = AskDoc(
        own_index, retriever=Retriever(own_index, embedder=embedder, progress=False), llm=ScriptedChat("unused")
    )
    pdf = write_pdf(tmp_path / "report.pdf")
    with TestClient(create_app(own_index, askdoc=engine)) as client:
        r = client.post("/search", json={"question": FURNACE, "collection": "papers"})
        assert r.status_code == 404 and r.json()["error"]["type"] == "not_found"
        assert r.json()["error"]["message"] == (  # how to make it over HTTP, not with a shell command
            "collection 'papers' does not exist or is empty: add documents with POST /documents?collection=papers "
            "(GET /collections lists them)"
        )
        for bad in ("Bad Name", "../x"):
            r = client.post("/ask", json={"question": FURNACE, "collection": bad})
            assert r.status_code == 400 and "bad collection name" in r.json()["error"]["message"]
        assert client.get("/documents", params={"collection": "papers"}).status_code == 404

        upload = [("files", ("report.pdf", pdf.read_bytes()))]
        job = _job(client, client.post("/documents", params={"collection": "papers"}, files=upload))
        assert job["state"] == "done" and job["files"][0]["status"] == "added", job
        ask = {"question": FURNACE, "style": "extractive"}
        data = client.post("/ask", json=ask | {"collection": "papers"}).json()
        assert data["collection"] == "papers" and data["citations"][0]["section_id"] == "report/2-1-furnace-temperature"
        cited = client.get("/sections/report/2-1-furnace-temperature", params={"collection": "papers"})
        assert cited.status_code == 200 and "1,234 degrees" in cited.json()["text"]  # a citation opens where it is
        assert client.get("/sections/report/2-1-furnace-temperature").status_code == 404  # not in the default one
        plain = client.post("/ask", json=ask).json()  # no field: the default collection, as before
        assert plain["collection"] == "default" and all(
            not c["section_id"].startswith("report/") for c in plain["citations"]
        )
        hits = client.post("/search", json={"question": FURNACE, "k": 1, "collection": "papers"}).json()
        assert hits["collection"] == "papers" and hits["results"][0]["document"] == "report.pdf"
        chat = {"messages": [{"role": "user", "content": FURNACE}], "collection": "papers"}
        completion = client.post("/v1/chat/completions", json=chat).json()
        assert "1,234 degrees" in completion["choices"][0]["message"]["content"]
        listed = client.get("/documents", params={"collection": "papers"}).json()
        assert [d["id"] for d in listed["documents"]] == ["report"] and listed["collection"] == "papers"
        assert [d["id"] for d in client.get("/documents").json()["documents"]] == ["default"]

        r = client.delete("/documents/report", params={"collection": "papers"})
        assert r.status_code == 200 and r.json()["documents"] == 0
        assert client.post("/search", json={"question": FURNACE, "collection": "papers"}).status_code == 404
        assert client.post("/search", json={"question": "what is label smoothing", "k": 1}).status_code == 200

        # Made again over HTTP, then emptied from the shell: 404 from then on, and an upload makes it again.
        assert _job(client, client.post("/documents", params={"collection": "papers"}, files=upload))["state"] == "done"
        assert client.post("/search", json={"question": FURNACE, "collection": "papers"}).status_code == 200
        open_collection(own_index.replace(collection="papers"), embedder, progress=False).remove("report")
        assert client.post("/search", json={"question": FURNACE, "collection": "papers"}).status_code == 404
        job = _job(client, client.post("/documents", params={"collection": "papers"}, files=upload))
        assert job["state"] == "done", job  # not a 404: the upload makes the collection
        hits = client.post("/search", json={"question": FURNACE, "k": 1, "collection": "papers"}).json()
        assert hits["results"][0]["section_id"] == "report/2-1-furnace-temperature"


def test_a_new_collection_is_built_with_the_index_kind_the_settings_ask_for(
    own_index: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    """The first `add` makes a named collection's index: faiss_exact_below counts there as in every later write."""
    papers = own_index.replace(collection="papers", faiss_exact_below=1)
    index, _ = open_collection(papers, embedder, progress=False).add([write_markdown(tmp_path / "runbook.md")])
    assert index is not None and index.manifest.faiss_kind == "ivf"
    assert store.read_manifest(collections.collection_dir(own_index.index_dir, "papers")).faiss_kind == "ivf"
