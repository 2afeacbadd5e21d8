"""The chat page: index.html at `/`, its script and style under `/static/` (files shipped inside the package)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
STATIC_PREFIX = "/static"

router = APIRouter()


@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)  # HEAD: uptime checks, `curl -I`
async def page() -> FileResponse:
    # no-cache: a browser revalidates (ETag) and so always gets the page of the server it talks to.
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC_DIR)


def is_page(path: str) -> bool:
    """The page and its files: open without the API key, or the page could not ask for it."""
    return path == "/" or path.startswith(STATIC_PREFIX + "/")
