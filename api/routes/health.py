"""Liveness and readiness (both open without the API key: see app.py)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import Rt
from api.errors import error_responses

router = APIRouter()


@router.api_route("/healthz", methods=["GET", "HEAD"], summary="The process is up")  # HEAD: uptime checks
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.api_route(
    "/readyz",
    methods=["GET", "HEAD"],
    summary="Models and index are loaded",
    responses={503: error_responses(503)[503]},
)
async def readyz(rt: Rt) -> JSONResponse:
    return JSONResponse({"status": "ready", **rt.engine().status()})
