"""Sections that answer a question: the same JSON as `askdoc search --json`."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import Rt
from api.errors import error_responses
from api.schemas import SearchRequest

router = APIRouter()


@router.post(
    "/search",
    summary="Sections that answer a question (same JSON as `askdoc search --json`)",
    responses=error_responses(400, 404, 413, 415, 422, 503),
)
async def search(body: SearchRequest, rt: Rt) -> JSONResponse:
    # Searches never wait for the generation lock, nor for a place in the answer gate.
    result = await run_in_threadpool(rt.engine(body.collection).search, body.question, body.k, body.mode, body.turns())
    return JSONResponse(result.to_json())
