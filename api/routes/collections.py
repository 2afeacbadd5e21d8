"""The collections a question can be asked in: what the chat page offers to choose from."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.deps import Rt
from rag.collection import summaries

router = APIRouter()


@router.get("/collections", summary="The collections, with their counts; `default`: the one asked when none is named")
async def list_collections(rt: Rt) -> dict[str, Any]:
    rows = await run_in_threadpool(summaries, rt.settings)
    # Not the folders (nor errors that name them): a client names a collection, the server's paths are its own.
    shown = [{"name": r["name"], "error": "its index cannot be read"} if "error" in r else _counts(r) for r in rows]
    return {"default": rt.settings.collection, "collections": shown}


def _counts(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "path"}
