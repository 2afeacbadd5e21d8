"""The HTTP API. It only translates HTTP to the rag layer and back: no retrieval or generation logic here.

Models load once, beside the server, started by the lifespan: it answers at once (/healthz, the page; the rest
503 "starting: …" with Retry-After while a first run builds the index). Answers are generated one at a time on the
one model instance (AskDoc holds the lock); at most `max_pending_answers` may wait or run (api/gate.py), further
requests get 503 with Retry-After at once instead of hanging. Searches never wait for the generation lock.

This module builds the app: the lifespan, the middleware (API key, content type, request log, body size: 413
beyond max_request_bytes), the routers and the chat page's files (at `/` and `/static/`, open without the key).
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool

from api.deps import Runtime
from api.errors import error_response, install_error_handlers, internal_error
from api.gate import AnswerGate
from api.limits import BodyLimit
from api.memory import limit_malloc_arenas
from api.routes import ask, chat, collections, docs, documents, health, page, search, sections
from rag.config import Settings
from rag.pipeline import AskDoc

log = logging.getLogger("askdoc.api")
JSON_ENDPOINTS = ("/ask", "/search", "/v1/chat/completions")
OPEN_ENDPOINTS = ("/healthz", "/readyz")  # no API key needed


def create_app(settings: Settings | None = None, askdoc: AskDoc | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    limit_malloc_arenas()
    runtime = Runtime(settings, AnswerGate(settings.max_pending_answers, settings.request_timeout_s))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if askdoc is not None:  # an engine handed in (an embedding program, the tests) is ready before any request
            await run_in_threadpool(runtime.start, askdoc)
        else:  # the server answers while it loads: a first run builds the index for a minute or more
            engine = AskDoc(settings, notify=runtime.note, progress=False)
            threading.Thread(target=runtime.start, args=(engine,), name="askdoc-start", daemon=True).start()
        yield

    app = FastAPI(
        title="askdoc",
        version="0.1.0",
        lifespan=lifespan,
        description="Questions answered from your documents, with citations.",
        docs_url=None,  # Swagger UI comes from a CDN: api/routes/docs.py serves an offline page instead
        redoc_url=None,
    )
    app.state.runtime = runtime
    # The first added is the innermost: the API key and the content type are checked before the body's size.
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes, uploads=("/documents", settings.max_upload_bytes))
    app.middleware("http")(_gatekeeper(settings))
    if settings.cors_origins:
        # Added last, so it is the outermost layer: browsers' preflights (no Authorization header) are answered
        # before the API-key check, and error responses carry the CORS headers too.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=[o.strip() for o in settings.cors_origins.split(",") if o.strip()],
            allow_methods=["GET", "HEAD", "POST", "DELETE"],  # DELETE: a page that removes documents
            allow_headers=["*"],  # OpenAI's JavaScript client sends its own x-stainless-* headers
            expose_headers=["Retry-After", "Location"],  # a busy 503's wait; where a 202's job is
        )
    install_error_handlers(app)
    for module in (health, search, sections, ask, chat, documents, collections, docs, page):
        app.include_router(module.router)
    app.mount(page.STATIC_PREFIX, page.static_files(), name="static")
    return app


Next = Callable[[Request], Awaitable[Response]]


def _gatekeeper(settings: Settings) -> Callable[[Request, Next], Awaitable[Response]]:
    """The middleware: the API key, then the content type of JSON bodies; every request logged."""

    async def gatekeeper(request: Request, call_next: Next) -> Response:
        start = time.perf_counter()
        path = request.url.path
        if settings.api_key and path not in OPEN_ENDPOINTS and not page.is_page(path):
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            # The scheme is case-insensitive (RFC 9110 §11.1); the key is compared in constant time.
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), settings.api_key.encode()):
                _log(request, 401, start)
                return error_response(401, "missing or wrong API key (Authorization: Bearer <key>)", "unauthorized")
        if request.method == "POST" and path in JSON_ENDPOINTS:  # elsewhere POST is a 404 or 405, not a 415
            ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype != "application/json":
                _log(request, 415, start)
                return error_response(
                    415, "send the request body as JSON (Content-Type: application/json)", "unsupported_media_type"
                )
        try:
            response = await call_next(request)
        except Exception as exc:  # a bug, not the request's fault
            # Answered here, not by an `Exception` handler: Starlette re-raises after that one's response and the
            # server then drops the client's keep-alive connection, so its next request fails too.
            response = await internal_error(request, exc)
        _log(request, response.status_code, start)
        return response

    return gatekeeper


def _log(request: Request, status: int, start: float) -> None:
    log.info(
        json.dumps(
            {
                "method": request.method,
                "path": request.url.path,
                "status": status,
                "latency_ms": round((time.perf_counter() - start) * 1000, 1),
            }
        )
    )
