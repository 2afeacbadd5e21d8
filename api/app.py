"""The HTTP API. It only translates HTTP to the rag layer and back: no retrieval or generation logic here.

Models load once, in the lifespan. Answers are generated one at a time on the one model instance (AskDoc holds
the lock); at most `max_pending_answers` may wait or run, further requests get 503 with Retry-After at once
instead of hanging. Searches never wait for the generation lock.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from corpus.errors import AskdocError, InvalidInputError
from rag.config import MODES, Settings
from rag.pipeline import AskDoc, FinalEvent, TokenEvent

log = logging.getLogger("askdoc.api")
Mode = Literal["hybrid", "dense", "bm25"]
assert set(Mode.__args__) == set(MODES)  # type: ignore[attr-defined]


class SearchRequest(BaseModel):
    question: str = Field(description="the question, 1 to 2,000 characters")
    k: int | None = Field(default=None, ge=1, le=50)
    mode: Mode | None = None


class AskRequest(SearchRequest):
    extractive: bool = False
    stream: bool = False


class ChatMessage(BaseModel):
    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    model: str = "askdoc"
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


def _error(status: int, message: str, kind: str = "invalid_request", headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status, headers=headers)


class Busy(Exception):
    """The answer queue is full."""


class AnswerGate:
    """Counts answers queued or running; refuses new ones beyond the bound instead of letting them pile up."""

    def __init__(self, bound: int) -> None:
        self.bound = bound
        self._n = 0
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            if self._n >= self.bound:
                raise Busy
            self._n += 1

    def leave(self) -> None:
        with self._lock:
            self._n -= 1


def create_app(settings: Settings | None = None, askdoc: AskDoc | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    state: dict[str, Any] = {"ready": False}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        engine = askdoc or AskDoc(settings, notify=lambda m: log.info(m), progress=False)
        await run_in_threadpool(engine.warm_up)
        state.update(engine=engine, ready=True)
        yield

    app = FastAPI(
        title="askdoc",
        version="0.1.0",
        lifespan=lifespan,
        description="Questions answered from your documents, with citations.",
    )
    gate = AnswerGate(settings.max_pending_answers)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=[o.strip() for o in settings.cors_origins.split(",") if o.strip()],
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )

    @app.middleware("http")
    async def auth_and_log(request: Request, call_next):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        path = request.url.path
        if settings.api_key and path not in ("/healthz", "/readyz"):
            given = request.headers.get("authorization", "")
            expected = f"Bearer {settings.api_key}"
            if not hmac.compare_digest(given.encode(), expected.encode()):
                response = _error(401, "missing or wrong API key (Authorization: Bearer <key>)", "unauthorized")
                _log(request, 401, start)
                return response
        if request.method == "POST":
            ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype != "application/json":
                _log(request, 415, start)
                return _error(
                    415, "send the request body as JSON (Content-Type: application/json)", "unsupported_media_type"
                )
        response = await call_next(request)
        _log(request, response.status_code, start)
        return response

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

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") in ("json_invalid", "json_type") for e in errors):
            return _error(400, "the request body is not valid JSON (or not UTF-8)")
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return _error(422, f"{where or 'body'}: {first.get('msg', 'invalid value')}")

    @app.exception_handler(AskdocError)
    async def askdoc_error(_: Request, exc: AskdocError) -> JSONResponse:
        status = 400 if isinstance(exc, InvalidInputError) else 503
        return _error(status, str(exc), "invalid_request" if status == 400 else "unavailable")

    def engine() -> AskDoc:
        if not state["ready"]:
            raise HTTPException(503, "still loading models")
        return state["engine"]

    @app.get("/healthz", summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="Models and index are loaded")
    async def readyz() -> JSONResponse:
        if not state["ready"]:
            return _error(503, "still loading models", "unavailable")
        e: AskDoc = state["engine"]
        return JSONResponse({"status": "ready", "llm": e.llm_name or None, "sections": len(e.retriever.index.sections)})

    @app.post("/search", summary="Sections that answer a question (same JSON as `askdoc search --json`)")
    async def search(body: SearchRequest) -> JSONResponse:
        result = await run_in_threadpool(engine().search, body.question, body.k, body.mode)
        return JSONResponse(result.to_json())

    @app.get("/sections/{section_id:path}", summary="A whole section")
    async def section(section_id: str) -> JSONResponse:
        found = engine().retriever.index.sections.get(section_id)
        if found is None:
            return _error(404, f"no section with id {section_id!r}", "not_found")
        return JSONResponse(found.to_dict())

    async def _bounded(run: Any) -> Any:
        try:
            gate.enter()
        except Busy:
            raise HTTPException(
                503, "too many answers in progress; retry shortly", headers={"Retry-After": "5"}
            ) from None
        try:
            return await asyncio.wait_for(run_in_threadpool(run), timeout=settings.request_timeout_s)
        except TimeoutError:
            raise HTTPException(504, f"no answer within {settings.request_timeout_s:.0f} s") from None
        finally:
            gate.leave()

    def _stream_events(body: AskRequest) -> Iterator[str]:
        """SSE: `token` events with the draft as it is generated, then one `final` event with the verified
        answer, citations, sentence support and timings (the same object as `askdoc ask --json`)."""
        try:
            for event in engine().ask_stream(body.question, body.k, body.mode, body.extractive):
                if isinstance(event, TokenEvent):
                    yield f"event: token\ndata: {json.dumps({'text': event.text})}\n\n"
                elif isinstance(event, FinalEvent):
                    yield f"event: final\ndata: {json.dumps(event.answer.to_json())}\n\n"
        except AskdocError as exc:
            yield f"event: error\ndata: {json.dumps({'message': str(exc)})}\n\n"
        finally:
            gate.leave()

    @app.post("/ask", summary="A cited answer (same JSON as `askdoc ask --json`; SSE with stream=true)")
    async def ask(body: AskRequest, request: Request) -> Any:
        wants_sse = body.stream or "text/event-stream" in request.headers.get("accept", "")
        if wants_sse:
            engine()
            from rag.retrieve import clean_question

            clean_question(body.question, settings)  # refuse bad input before the stream starts
            try:
                gate.enter()
            except Busy:
                return _error(503, "too many answers in progress; retry shortly", "busy", {"Retry-After": "5"})
            return StreamingResponse(_stream_events(body), media_type="text/event-stream")
        answer = await _bounded(lambda: engine().ask(body.question, body.k, body.mode, body.extractive))
        return JSONResponse(answer.to_json())

    @app.post("/v1/chat/completions", summary="OpenAI-compatible chat: the last user message is the question")
    async def chat(body: ChatRequest) -> Any:
        question = _last_user_text(body.messages)
        created = int(time.time())
        cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        answer = await _bounded(lambda: engine().ask(question))
        data = answer.to_json()
        if not body.stream:
            return JSONResponse(
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": body.model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": data["answer"]},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                    "citations": data["citations"],
                    "askdoc": data,
                }
            )

        def chunks() -> Iterator[str]:
            # The verified answer, not the raw draft: a client that joins the deltas gets exactly the
            # non-streaming message.
            def chunk(delta: dict[str, str], finish: str | None, extra: dict[str, Any] | None = None) -> str:
                obj = {
                    "id": cid,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": body.model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                    **(extra or {}),
                }
                return f"data: {json.dumps(obj)}\n\n"

            yield chunk({"role": "assistant", "content": ""}, None)
            words = data["answer"].split(" ")
            for i, word in enumerate(words):
                yield chunk({"content": word if i == 0 else " " + word}, None)
            yield chunk({}, "stop", {"citations": data["citations"]})
            yield "data: [DONE]\n\n"

        return StreamingResponse(chunks(), media_type="text/event-stream")

    return app


def _last_user_text(messages: list[ChatMessage]) -> str:
    for m in reversed(messages):
        if m.role == "user":
            if isinstance(m.content, str):
                return m.content
            if isinstance(m.content, list):
                return " ".join(str(p.get("text", "")) for p in m.content if p.get("type") == "text")
    raise InvalidInputError("no user message to answer")
