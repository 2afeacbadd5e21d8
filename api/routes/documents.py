"""The documents of the collection: upload (ingested in the background, one job per request), list, remove.

Checked at once, for the whole request (4xx): each file's name, type (by suffix) and size. Checked per file by
the job (its result says why it was skipped): whether it parses — a corrupt PDF, an empty file, binary data.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import Rt
from api.errors import ApiError, error_responses
from api.ingest import Ingestor, uploads_dir
from corpus.errors import InvalidInputError
from corpus.formats import SUFFIXES
from index.documents import document_row, removal_row

router = APIRouter()
MAX_FILES = 100  # per request
CollectionName = Annotated[str | None, Query(description='the collection (default "default"); made by an upload')]
_made = threading.Lock()


def _ingestor(request: Request, rt: Rt) -> Ingestor:
    with _made:
        if getattr(request.app.state, "ingestor", None) is None:
            request.app.state.ingestor = Ingestor(rt.settings)
    return request.app.state.ingestor  # type: ignore[no-any-return]


@router.post(
    "/documents",
    status_code=202,
    summary="Add or replace documents (PDF, HTML, Markdown, text); ingested in the background",
    responses=error_responses(400, 413, 415, 422, 503),
)
async def upload(
    request: Request,
    rt: Rt,
    files: Annotated[list[UploadFile], File(description="one or more files")],
    collection: CollectionName = None,
) -> JSONResponse:
    engine = rt.engine(collection, create=True)  # adding documents to a new collection makes it
    names = [_check(f, rt.settings.max_document_bytes) for f in files]
    if len(files) > MAX_FILES:
        raise ApiError(400, f"{len(files)} files in one request; the limit is {MAX_FILES}", "invalid_request")
    if len(set(names)) < len(names):
        raise ApiError(400, "two files in the request have the same name", "invalid_request")
    staging = uploads_dir(rt.settings.index_dir) / f".staging-{uuid.uuid4().hex[:12]}"
    staged = await run_in_threadpool(_stage, files, names, staging)
    job = _ingestor(request, rt).submit(engine, staged, staging)
    return JSONResponse(job.to_json(), status_code=202, headers={"Location": f"/documents/jobs/{job.id}"})


_MAX_NAME_BYTES = 255  # a file name's limit on the usual file systems


def _check(upload: UploadFile, max_bytes: int) -> str:
    name = Path(upload.filename or "").name.strip()
    if not name or name.startswith(".") or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ApiError(400, f"a file has no usable name ({upload.filename!r})", "invalid_request")
    if len(name.encode("utf-8", "surrogateescape")) > _MAX_NAME_BYTES:
        raise ApiError(400, f"a file name is over {_MAX_NAME_BYTES} bytes ({name[:40]!r}…)", "invalid_request")
    if Path(name).suffix.lower() not in SUFFIXES:
        kinds = ", ".join(SUFFIXES)
        raise ApiError(415, f"{name}: unsupported file type; askdoc reads {kinds}", "unsupported_media_type")
    if upload.size is not None and upload.size > max_bytes:
        raise ApiError(413, f"{name}: {upload.size:,} bytes, over the {max_bytes:,}-byte limit", "too_large")
    return name


def _stage(files: list[UploadFile], names: list[str], staging: Path) -> list[tuple[str, Path]]:
    """The uploads written to a staging folder, which a failure removes (a full disk leaves nothing behind)."""
    staging.mkdir(parents=True)
    out = []
    try:
        for upload, name in zip(files, names, strict=True):
            path = staging / name
            with path.open("wb") as fh:
                shutil.copyfileobj(upload.file, fh)
            out.append((name, path))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


@router.get(
    "/documents/jobs/{job_id}",
    summary="An ingestion job's progress and per-file results",
    responses=error_responses(404),
)
async def job(job_id: str, request: Request, rt: Rt) -> JSONResponse:
    found = _ingestor(request, rt).status(job_id)
    if found is None:
        raise ApiError(404, f"no ingestion job {job_id!r}", "not_found")
    return JSONResponse(found)


@router.get("/documents", summary="The documents of the collection", responses=error_responses(400, 404, 503))
async def documents(rt: Rt, collection: CollectionName = None) -> JSONResponse:
    engine = rt.engine(collection)
    records = engine.retriever.index.manifest.documents
    return JSONResponse({"documents": [document_row(r) for r in records], "collection": engine.settings.collection})


@router.delete(
    "/documents/{doc_id}",
    summary="Remove a document (by id, or its name when only one has it)",
    responses=error_responses(400, 404, 503, 507),
)
async def remove(doc_id: str, request: Request, rt: Rt, collection: CollectionName = None) -> JSONResponse:
    engine = rt.engine(collection)
    try:
        record, left = await run_in_threadpool(_ingestor(request, rt).remove, engine, doc_id)
    except InvalidInputError as exc:
        if str(exc).startswith("no document"):  # said in HTTP terms, not with the `askdoc index list` command
            listed = f"GET /documents?collection={engine.settings.collection} lists them"
            raise ApiError(
                404, f"no document {doc_id!r} in collection {engine.settings.collection!r} ({listed})", "not_found"
            ) from None
        raise ApiError(400, str(exc), "invalid_request") from None
    if not left:  # a named collection's last document: the collection is gone with it
        rt.engines.pop(engine.settings.collection, None)
    return JSONResponse(removal_row(record, left, engine.settings.collection))
