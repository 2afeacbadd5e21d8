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
    # Not the folders: a client names a collection, it has no business with the server's paths.
    return {
        "default": rt.settings.collection,
        "collections": [{k: v for k, v in r.items() if k != "path"} for r in rows],
    }
