"""A whole section by id (the ids that search hits and citations carry)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import Rt
from api.errors import ApiError, error_responses

router = APIRouter()


@router.get("/sections/{section_id:path}", summary="A whole section", responses=error_responses(400, 404, 503))
async def section(section_id: str, rt: Rt, collection: str | None = None) -> JSONResponse:
    """`collection`: the collection whose citation this is (default: the server's)."""
    found = rt.engine(collection).section(section_id)
    if found is None:
        raise ApiError(404, f"no section with id {section_id!r}", "not_found")
    return JSONResponse(found.to_dict())
