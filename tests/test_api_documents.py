"""POST/GET/DELETE /documents and the ingestion jobs, in-process, on a private copy of the session index: the
server keeps answering from the old index during a job and from the new one once it is swapped in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from documents_factory import write_bad_files, write_html, write_pdf
from fastapi.testclient import TestClient
from scripted_llm import ScriptedChat

from api.app import create_app
from api.ingest import Ingestor, uploads_dir
from cli.main import main
from index.embed import Embedder
from index.ingest import FileResult
from rag.config import Settings
from rag.pipeline import AskDoc
from rag.retrieve import Retriever

QUESTION = {"question": "At what temperature does the Zorblax furnace melt the bronze?", "style": "extractive"}


@pytest.fixture
def served(own_index: Settings, embedder: Embedder) -> Iterator[tuple[TestClient, Settings]]:
    settings = own_index.replace(max_document_bytes=5000, api_key="k3y")
    # Answers here are extractive: the scripted model only spares loading the real one.
    retriever = Retriever(settings, embedder=embedder, progress=False)
    engine = AskDoc(settings, retriever=retriever, llm=ScriptedChat("unused"))
    with TestClient(create_app(settings, askdoc=engine), headers={"Authorization": "Bearer k3y"}) as client:
        yield client, settings


def _files(*paths: Path) -> list[tuple[str, tuple[str, bytes]]]:
    return [("files", (p.name, p.read_bytes())) for p in paths]


def _finished(client: TestClient, job: dict[str, Any], limit_s: float = 300.0) -> dict[str, Any]:
    deadline = time.monotonic() + limit_s
    while job["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
        r = client.get(f"/documents/jobs/{job['id']}")
        assert r.status_code == 200
        job = r.json()
    return job


def _finished_elsewhere(ingestor: Ingestor, job_id: str, limit_s: float = 10.0) -> dict[str, Any] | None:
    """The job as another worker reads it, once its record says it is over (written just after the state)."""
    deadline = time.monotonic() + limit_s
    while (record := ingestor.status(job_id)) is not None and record["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline, record
        time.sleep(0.05)
    return record


def test_another_worker_reports_a_running_job_as_still_running(own_index: Settings) -> None:
    """Its record was written when the job started; the time it reports is until now, not until then."""
    from api.ingest import Job

    writer, reader = Ingestor(own_index), Ingestor(own_index)
    job = Job("0123456789ab", 2, state="running", created=time.time() - 5.0)
    writer._record(job)
    first = reader.status(job.id)
    time.sleep(0.2)
    second = reader.status(job.id)
    assert first is not None and second is not None and first["state"] == "running"
    assert 5.0 <= first["seconds"] < second["seconds"] and first["created_at"] == job.to_json()["created_at"]
    job.state, job.finished = "done", time.time()
    writer._record(job)
    assert reader.status(job.id) == job.to_json()  # a finished job's time is what its worker wrote


def test_a_job_whose_server_stopped_is_reported_failed(own_index: Settings) -> None:
    """A server killed mid-job leaves its record "indexing"; once no process of its id runs, the job is failed."""
    from api.ingest import Job

    job = Job("ba5eba11cafe", 40, state="indexing", created=time.time() - 5.0)
    # read before the kill, never saved: the failed job must not report them as added (it did)
    job.results = [FileResult("a.md", "added", document="a", sections=2), FileResult("b.md", "skipped", "empty")]
    Ingestor(own_index)._record(job)
    record_path = own_index.index_dir.parent / f"{own_index.index_dir.name}.jobs" / f"{job.id}.json"
    record = json.loads(record_path.read_text())
    assert record["pid"] == os.getpid() and Ingestor(own_index).status(job.id)["state"] == "indexing"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    record_path.write_text(json.dumps(record | {"pid": int(dead.stdout)}))
    status = Ingestor(own_index).status(job.id)
    assert status is not None and status["state"] == "failed" and "upload its files again" in status["error"]
    assert "pid" not in status and "process" not in status
    assert [(f["path"], f["status"]) for f in status["files"]] == [("a.md", "skipped"), ("b.md", "skipped")]
    assert status["files"][0]["reason"] == "not added: the job failed before the index was saved"
    assert status["summary"] == {"added": 0, "replaced": 0, "unchanged": 0, "skipped": 2}
    # A restarted container's server often has its predecessor's process id: the record's process tells them apart.
    record_path.write_text(json.dumps(record | {"process": "an-earlier-process"}))
    assert Ingestor(own_index).status(job.id)["state"] == "failed"


def test_upload_ask_list_remove(served: tuple[TestClient, Settings], tmp_path: Path) -> None:
    client, settings = served
    before = client.post("/search", json={"question": QUESTION["question"], "k": 1}).json()["results"][0]
    assert not before["section_id"].startswith("report/")
    bad = write_bad_files(tmp_path / "bad")
    files = [write_pdf(tmp_path / "report.pdf"), write_html(tmp_path / "quokka.html")]
    files += [tmp_path / "bad" / name for name in bad if name != "big.txt"]
    r = client.post("/documents", files=_files(*files))
    assert r.status_code == 202 and r.headers["location"] == f"/documents/jobs/{r.json()['id']}"
    during = client.post("/search", json={"question": QUESTION["question"], "k": 1})  # served while it runs
    assert during.status_code == 200 and during.json()["results"]
    job = _finished(client, r.json())
    assert job["state"] == "done" and job["total"] == job["done"] == 5
    other_worker = Ingestor(settings)  # another process of the same server: it reads the job's record
    assert _finished_elsewhere(other_worker, job["id"]) == job
    assert other_worker.status("../manifest") is None and other_worker.status("0123456789ab") is None
    assert [(f["path"], f["status"]) for f in job["files"]] == [
        ("report.pdf", "added"),
        ("quokka.html", "added"),
        ("corrupt.pdf", "skipped"),
        ("empty.md", "skipped"),
        ("photo.md", "skipped"),
    ]
    assert "not a readable PDF" in job["files"][2]["reason"]
    assert [f["unreadable"] for f in job["files"]] == [False, False, True, True, True]  # as `askdoc index add` says
    assert sorted(p.name for p in uploads_dir(settings.index_dir).iterdir()) == ["quokka.html", "report.pdf"]

    answer = client.post("/ask", json=QUESTION).json()  # the engine serves the new index
    cited = answer["citations"][0]
    assert cited["reference"] == "report.pdf, p. 2, § 2.1 Furnace temperature" and "1,234" in answer["answer"]
    listed = client.get("/documents").json()["documents"]
    assert [d["id"] for d in listed] == ["default", "report", "quokka"]

    copy = [("files", ("copy.pdf", files[0].read_bytes()))]
    again = _finished(client, client.post("/documents", files=_files(files[0]) + copy).json())
    assert [f["status"] for f in again["files"]] == ["unchanged", "skipped"]
    assert again["files"][1]["reason"] == "duplicate of report.pdf (same content, id report)"
    assert again["files"][1]["unreadable"] is False  # a duplicate reads fine
    assert not (uploads_dir(settings.index_dir) / "copy.pdf").exists()

    r = client.delete("/documents/report")
    assert r.status_code == 200 and r.json()["removed"]["name"] == "report.pdf"
    hit = client.post("/search", json={"question": QUESTION["question"], "k": 5}).json()["results"]
    assert not any(h["section_id"].startswith("report/") for h in hit)
    assert not (uploads_dir(settings.index_dir) / "report.pdf").exists()
    gone = client.delete("/documents/report").json()["error"]
    assert gone == {
        "type": "not_found",
        "message": "no document 'report' in collection 'default' (GET /documents?collection=default lists them)",
    }
    assert client.delete("/documents/default").status_code == 400
    # Removed from a shell, an upload's copy goes with it too.
    assert main(["index", "remove", "quokka", "--index-dir", str(settings.index_dir)]) == 0
    assert not (uploads_dir(settings.index_dir) / "quokka.html").exists()


def test_upload_limits_are_4xx_json(served: tuple[TestClient, Settings], tmp_path: Path) -> None:
    client, settings = served
    write_bad_files(tmp_path)
    cases = [
        (_files(tmp_path / "big.txt"), 413, "over the 5,000-byte limit"),
        ([("files", ("tool.exe", b"MZ\x90\x00"))], 415, "unsupported file type"),
        ([("files", ("a.md", b"# A\nx")), ("files", ("a.md", b"# B\ny"))], 400, "same name"),
        ([("other", ("a.md", b"# A\nx"))], 422, "files"),
        # names no file system takes were a 500 that left a staging folder behind
        ([("files", ("a" * 300 + ".md", b"# A\nx"))], 400, "over 255 bytes"),
    ]
    for files, status, says in cases:
        r = client.post("/documents", files=files)
        assert r.status_code == status and says in r.json()["error"]["message"], (status, r.text)
    # a NUL in the name, as curl sends it (httpx would percent-encode it)
    raw = b'--b\r\nContent-Disposition: form-data; name="files"; filename="a\x00b.md"\r\n\r\n# A\r\n--b--\r\n'
    r = client.post("/documents", content=raw, headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 400 and "no usable name" in r.json()["error"]["message"], r.text
    assert not list(uploads_dir(settings.index_dir).glob(".staging-*"))
    assert client.get("/documents/jobs/nope").status_code == 404
    bare = TestClient(client.app)  # no API key
    assert bare.get("/documents").status_code == 401
    assert bare.post("/documents", files=_files(tmp_path / "empty.md")).status_code == 401
