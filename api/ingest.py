"""Document ingestion for the HTTP API: uploads kept beside the index, one background job at a time, each with
an id and its progress; the engine switches to the new index once it is saved (atomically, by index.store).

Until then /ask and /search keep answering from the index they hold. Uploaded files live in
`<index_dir>.documents/` under their own names: the index refers to its documents by path, and a rebuild reads
them again; uploading a name again replaces that document.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from corpus.errors import AskdocError, CollectionNotFoundError, InvalidInputError
from corpus.parse import load_file
from index.atomic import read_json_object, staged_file
from index.collection import Collection
from index.documents import doc_id
from index.ingest import FileResult, counts
from index.store import DocumentRecord
from rag.collection import drop_upload, open_collection, uploads_dir
from rag.config import Settings
from rag.pipeline import AskDoc

MAX_JOBS_KEPT = 100  # finished jobs remembered for GET /documents/jobs/{id}
PROCESS = uuid.uuid4().hex  # this process, told from an earlier one that had the same id


def unsaved(result: FileResult) -> FileResult:
    """A file of a failed job: what was read as added or replaced never reached the saved index."""
    if result.status not in ("added", "replaced"):
        return result
    return FileResult(result.path, "skipped", "not added: the job failed before the index was saved")


def jobs_dir(index_dir: Path) -> Path:
    """Where job records live, beside the index, so every worker of one server can report any job."""
    return index_dir.parent / f"{index_dir.name}.jobs"


@dataclass
class Job:
    id: str
    total: int
    state: str = "queued"  # queued | running | indexing | done | failed
    results: list[FileResult] = field(default_factory=list)
    error: str = ""
    created: float = field(default_factory=time.time)
    finished: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "total": self.total,
            "done": len(self.results),
            "files": [r.to_json() for r in self.results],
            "summary": counts(self.results),
            "error": self.error or None,
            "seconds": round((self.finished or time.time()) - self.created, 3),
            "created_at": datetime.fromtimestamp(self.created, UTC).isoformat(timespec="milliseconds"),
        }


class Ingestor:
    """Runs ingestion jobs one after another on a worker thread; removals wait for the running job. Each job's
    state is also written to `jobs_dir` as it changes: with `askdoc serve --workers N`, a status request may reach
    a worker other than the one running the job."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.jobs: dict[str, Job] = {}
        self.records = jobs_dir(settings.index_dir)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="askdoc-ingest")
        self._lock = threading.Lock()  # one writer at a time in this process (index.store's lock: across them)

    def submit(self, engine: AskDoc, files: list[tuple[str, Path]], staging: Path) -> Job:
        """`files`: (name as uploaded, staged copy) pairs, already checked for name, type and size."""
        job = Job(uuid.uuid4().hex[:12], len(files))
        self.jobs[job.id] = job
        for old in list(self.jobs)[:-MAX_JOBS_KEPT]:
            self.jobs.pop(old, None)
        self._prune_records()
        self._record(job)
        self._worker.submit(self._run, engine, job, files, staging)
        return job

    def status(self, job_id: str) -> dict[str, Any] | None:
        """A job's state: this worker's own, else the record another worker wrote; None when there is no such job."""
        if job := self.jobs.get(job_id):
            return job.to_json()
        if not job_id.isalnum():  # ids are hex; anything else is no job (and no path outside the folder)
            return None
        record = read_json_object(self.records / f"{job_id}.json")
        if not record:
            return record
        writer, process = record.pop("pid", None), record.pop("process", None)
        if record.get("state") in ("done", "failed"):
            return record
        # Its writer is gone; or it had this process's id, but was another process (a restarted container's pid 1).
        if isinstance(writer, int) and (not _alive(writer) or (writer == os.getpid() and process != PROCESS)):
            # Its server stopped (or was killed) mid-job: the job will never finish, and its index was not saved
            # unless the stop came in the moment between saving and saying so.
            record["state"] = "failed"
            record["error"] = "the server stopped before this job finished: upload its files again"
            files = [unsaved(FileResult(**f)) for f in record.get("files", [])]
            record["files"], record["summary"] = [f.to_json() for f in files], counts(files)
        elif "created_at" in record:
            # Written when its state last changed: a job still under way has been running until now.
            record["seconds"] = round(time.time() - datetime.fromisoformat(record["created_at"]).timestamp(), 3)
        return record

    def _run(self, engine: AskDoc, job: Job, files: list[tuple[str, Path]], staging: Path) -> None:
        job.state = "running"
        self._record(job)
        state = "failed"
        try:
            with self._lock:
                self._ingest(engine, job, files)
            state = "done"
        except Exception as exc:  # the job says what went wrong; the index is as it was (atomic save)
            job.error = str(exc) if isinstance(exc, AskdocError) else repr(exc)
            job.results = [unsaved(r) for r in job.results]
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            job.finished = time.time()
            job.state = state  # last: whoever reads "done" reads the finished job
            self._record(job)

    def _record(self, job: Job) -> None:
        """Write the job's state for the other workers (atomically: a reader never sees half a record). Best
        effort: a full disk must not fail the ingestion itself, and this worker still answers from memory."""
        try:
            self.records.mkdir(parents=True, exist_ok=True)
            with staged_file(self.records / f"{job.id}.json") as tmp:
                mine = {"pid": os.getpid(), "process": PROCESS}
                tmp.write_text(json.dumps(job.to_json() | mine), encoding="utf-8")
        except OSError:
            pass

    def _prune_records(self) -> None:
        """Keep the newest MAX_JOBS_KEPT records, as each worker keeps its newest jobs in memory."""
        try:
            records = sorted(self.records.glob("*.json"), key=lambda p: p.stat().st_mtime)
            for old in records[:-MAX_JOBS_KEPT]:
                old.unlink(missing_ok=True)
        except OSError:
            pass

    def _ingest(self, engine: AskDoc, job: Job, files: list[tuple[str, Path]]) -> None:
        """Files that do not parse, or whose content is already indexed under another name, are reported and never
        reach the uploads folder (a good copy there stays as it was); the others are moved in and added."""
        placed: list[Path] = []
        early: dict[int, FileResult] = {}
        by_sha = {r.sha256: r for r in _documents(engine)}
        folder = _folder(engine)
        batch: dict[str, str] = {}  # content hash -> name, of this request's accepted files
        for i, (name, staged) in enumerate(files):
            final = (folder / name).resolve()
            reason, unreadable = self._refusal(staged, final, by_sha, batch)
            if reason:
                early[i] = FileResult(name, "skipped", reason, unreadable=unreadable)
                job.results.append(early[i])
                self._record(job)
                continue
            folder.mkdir(parents=True, exist_ok=True)
            os.replace(staged, final)
            placed.append(final)
        if placed:
            job.state = "indexing"
            self._record(job)

            def on_result(result: FileResult) -> None:
                job.results.append(_named(result))
                self._record(job)

            index, results = self._collection(engine).add(placed, on_result=on_result)
            if index is not None:
                engine.use_index(index)  # the swap: later requests see the new index
            ordered = iter(_named(r) for r in results)
            job.results = [early[i] if i in early else next(ordered) for i in range(len(files))]

    def _refusal(
        self, staged: Path, final: Path, by_sha: dict[str, DocumentRecord], batch: dict[str, str]
    ) -> tuple[str, bool]:
        """Why a staged upload is skipped before it replaces anything ("" when it is not), and whether that is
        because it cannot be read (as `askdoc index add` reports it) rather than a duplicate."""
        try:
            doc = load_file(staged, "", self.settings.max_document_bytes)
        except InvalidInputError as exc:
            return str(exc), True
        twin = by_sha.get(doc.sha256)
        if twin is not None and twin.path != str(final):
            return f"duplicate of {twin.name} (same content, id {doc_id(twin)})", False
        if doc.sha256 in batch:
            return f"duplicate of {batch[doc.sha256]} (same content)", False
        batch[doc.sha256] = final.name
        return "", False

    def remove(self, engine: AskDoc, ref: str) -> tuple[DocumentRecord, int]:
        """The document removed and how many the collection still holds (0: the collection is gone with it)."""
        with self._lock:
            index, record = self._collection(engine).remove(ref)
            if index is not None:
                engine.use_index(index)
        drop_upload(engine.settings, record)
        return record, len(index.manifest.documents) if index else 0

    def _collection(self, engine: AskDoc) -> Collection:
        return open_collection(engine.settings, engine.retriever.embedder, progress=False)

    def shutdown(self) -> None:
        self._worker.shutdown(wait=True, cancel_futures=True)


def _alive(pid: int) -> bool:
    """Whether a process of that id runs (on this machine, where the server's workers run)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it runs, as another user
        return True
    return True


def _folder(engine: AskDoc) -> Path:
    return uploads_dir(engine.settings.index_dir, engine.settings.collection)


def _documents(engine: AskDoc) -> list[DocumentRecord]:
    """The documents the engine's collection holds (none yet: an upload is about to make it)."""
    try:
        return engine.retriever.index.manifest.documents
    except CollectionNotFoundError:
        return []


def _named(result: FileResult) -> FileResult:
    """A result as the uploader knows the file: by its name, not the server's path."""
    result.path = Path(result.path).name
    return result
