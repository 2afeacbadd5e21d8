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
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import AfterValidator, BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from corpus.errors import AskdocError, InvalidInputError
from rag.config import MODES, Settings
from rag.pipeline import AskDoc, FinalEvent, TokenEvent

log = logging.getLogger("askdoc.api")
Mode = Literal["hybrid", "dense", "bm25", "rerank"]
assert set(Mode.__args__) == set(MODES)  # type: ignore[attr-defined]


def _unicode(text: str) -> str:
    # JSON can carry lone surrogates (the escape \ud800 alone). They are not text: neither the tokenizer nor the
    # UTF-8 response encoder takes them (a 500 before this check).
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains a lone surrogate escape (not valid Unicode text)") from None
    return text


Text = Annotated[str, AfterValidator(_unicode)]


class SearchRequest(BaseModel):
    question: Text = Field(description="the question, 1 to 2,000 characters")
    k: int | None = Field(default=None, ge=1, le=50)
    mode: Mode | None = None


class AskRequest(SearchRequest):
    extractive: bool = False
    stream: bool = False


class ChatMessage(BaseModel):
    role: str
    content: Text | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    model: Text = "askdoc"
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


def _error(status: int, message: str, kind: str = "invalid_request", headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status, headers=headers)


class Busy(Exception):
    """The answer queue is full."""


class ApiError(Exception):
    """An error response with the API's JSON body ({"error": {"type", "message"}})."""

    def __init__(self, status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.headers = status, message, kind, headers


class ErrorDetail(BaseModel):
    type: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


_ERROR_TEXT = {
    400: "Bad input: an empty or over-long question, a body that is not JSON or not UTF-8, no user message",
    401: "Missing or wrong API key (only when the server has one)",
    404: "No such section",
    415: "The body is not sent as application/json",
    422: "A field is missing or of the wrong type or range",
    503: "Too many answers in progress (with Retry-After), or the models are still loading",
    504: "No answer within the server's request timeout",
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the error statuses an endpoint can give, all with the one error body."""
    return {c: {"model": ErrorBody, "description": _ERROR_TEXT[c]} for c in (401, *codes)}


# Before OpenAPI 3.2 the schema of a text/event-stream describes each event.
_SSE = {
    "text/event-stream": {
        "schema": {
            "type": "object",
            "description": "One server-sent event. /ask: `token` events ({text}), then one `final` event (the answer "
            "JSON) or an `error` event ({message}). Chat: chat.completion.chunk objects, then [DONE].",
            "properties": {"event": {"type": "string"}, "data": {"type": "string"}},
            "required": ["data"],
        }
    }
}
JSON_ENDPOINTS = ("/ask", "/search", "/v1/chat/completions")
_KINDS = {
    400: "invalid_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    503: "unavailable",
    504: "timeout",
}


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
        if request.method == "POST" and path in JSON_ENDPOINTS:  # elsewhere POST is a 404 or 405, not a 415
            ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype != "application/json":
                _log(request, 415, start)
                return _error(
                    415, "send the request body as JSON (Content-Type: application/json)", "unsupported_media_type"
                )
        response = await call_next(request)
        _log(request, response.status_code, start)
        return response

    if settings.cors_origins:
        # Added last, so it is the outermost layer: browsers' preflights (no Authorization header) are answered
        # before the API-key check, and error responses carry the CORS headers too.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=[o.strip() for o in settings.cors_origins.split(",") if o.strip()],
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )

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

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        # Starlette's own errors (unknown path, wrong method, a body that is not UTF-8) in the API's format.
        message = str(exc.detail)
        if message == "There was an error parsing the body":
            message = "the request body is not valid JSON (or not UTF-8)"
        return _error(exc.status_code, message, _KINDS.get(exc.status_code, "error"), exc.headers)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.message, exc.kind, exc.headers)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return _error(500, "internal error (see the server log)", "internal")

    @app.exception_handler(AskdocError)
    async def askdoc_error(_: Request, exc: AskdocError) -> JSONResponse:
        status = 400 if isinstance(exc, InvalidInputError) else 503
        return _error(status, str(exc), "invalid_request" if status == 400 else "unavailable")

    def engine() -> AskDoc:
        if not state["ready"]:
            raise ApiError(503, "still loading models", "unavailable")
        return state["engine"]

    @app.get("/healthz", summary="The process is up")  # never needs the API key
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="Models and index are loaded", responses={503: _errors(503)[503]})
    async def readyz() -> JSONResponse:
        if not state["ready"]:
            return _error(503, "still loading models", "unavailable")
        e: AskDoc = state["engine"]
        return JSONResponse({"status": "ready", "llm": e.llm_name or None, "sections": len(e.retriever.index.sections)})

    @app.post(
        "/search",
        summary="Sections that answer a question (same JSON as `askdoc search --json`)",
        responses=_errors(400, 415, 422, 503),
    )
    async def search(body: SearchRequest) -> JSONResponse:
        result = await run_in_threadpool(engine().search, body.question, body.k, body.mode)
        return JSONResponse(result.to_json())

    @app.get("/sections/{section_id:path}", summary="A whole section", responses=_errors(404, 503))
    async def section(section_id: str) -> JSONResponse:
        found = engine().retriever.index.sections.get(section_id)
        if found is None:
            return _error(404, f"no section with id {section_id!r}", "not_found")
        return JSONResponse(found.to_dict())

    async def _bounded(run: Callable[[], Any]) -> Any:
        """Run one answer in a worker thread. A request that times out gets 504 at once, but a thread cannot be
        stopped: its answer keeps its place in the count until the thread is done, so abandoned answers cannot
        pile up behind the generation lock beyond the bound."""
        try:
            gate.enter()
        except Busy:
            raise ApiError(503, "too many answers in progress; retry shortly", "busy", {"Retry-After": "5"}) from None
        claim = threading.Lock()
        started = abandoned = False

        def job() -> Any:
            nonlocal started
            with claim:
                if abandoned:  # the request gave up before a thread took the job: the gate is already left
                    return None
                started = True
            try:
                return run()
            finally:
                gate.leave()

        try:
            return await asyncio.wait_for(
                anyio.to_thread.run_sync(job, abandon_on_cancel=True), timeout=settings.request_timeout_s
            )
        except TimeoutError:
            raise ApiError(504, f"no answer within {settings.request_timeout_s:g} s", "timeout") from None
        finally:
            with claim:
                if not started:
                    abandoned = True
                    gate.leave()

    def _stream_events(body: AskRequest) -> Iterator[str]:
        """SSE: `token` events with the draft as it is generated, then one `final` event with the verified
        answer, citations, sentence support and timings (the same object as `askdoc ask --json`)."""
        events = engine().ask_stream(body.question, body.k, body.mode, body.extractive)
        try:
            for event in events:
                if isinstance(event, TokenEvent):
                    yield f"event: token\ndata: {json.dumps({'text': event.text})}\n\n"
                elif isinstance(event, FinalEvent):
                    yield f"event: final\ndata: {json.dumps(event.answer.to_json())}\n\n"
        except AskdocError as exc:
            yield f"event: error\ndata: {json.dumps({'message': str(exc)})}\n\n"
        except Exception:
            log.exception("answer stream failed")
            yield f"event: error\ndata: {json.dumps({'message': 'internal error (see the server log)'})}\n\n"
        finally:
            events.close()  # releases the generation lock at once when the stream is cut short
            gate.leave()

    @app.post(
        "/ask",
        summary="A cited answer (same JSON as `askdoc ask --json`; SSE with stream=true)",
        responses={200: {"content": _SSE}, **_errors(400, 415, 422, 503, 504)},
    )
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
            return StreamingResponse(_produced(_stream_events(body)), media_type="text/event-stream")
        answer = await _bounded(lambda: engine().ask(body.question, body.k, body.mode, body.extractive))
        return JSONResponse(answer.to_json())

    @app.post(
        "/v1/chat/completions",
        summary="OpenAI-compatible chat: the last user message is the question",
        responses={200: {"content": _SSE}, **_errors(400, 415, 422, 503, 504)},
    )
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


def _produced(chunks: Iterator[str]) -> AsyncIterator[str]:
    """Runs a generator that holds resources (the generation lock, a queue slot) to its end in a thread of its own,
    and hands its chunks to the response.

    Starlette iterates a sync generator from worker threads and never closes it when the client goes away: the
    abandoned generator then keeps the generation lock until the garbage collector finds it, and every later
    answer waits for it (seen: an SSE client that disconnected after its first token made every following /ask
    time out). Here the producer thread always finishes, and closes the generator: early (after the next chunk)
    when the response stops reading, or at the end of a bounded answer when nothing tells it to.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    stop = threading.Event()

    def put(item: str | None) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the event loop is gone (server shutting down)
            stop.set()

    def produce() -> None:
        try:
            for chunk in chunks:
                put(chunk)
                if stop.is_set():
                    break
        except Exception:
            log.exception("stream producer failed")
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
            put(None)

    # Not a daemon: at shutdown the interpreter waits for the answer in progress instead of freeing the model
    # under it.
    threading.Thread(target=produce, name="askdoc-stream").start()

    async def consume() -> AsyncIterator[str]:
        try:
            while (chunk := await queue.get()) is not None:
                yield chunk
        finally:
            stop.set()

    return consume()


def _last_user_text(messages: list[ChatMessage]) -> str:
    for m in reversed(messages):
        if m.role == "user":
            if isinstance(m.content, str):
                return m.content
            if isinstance(m.content, list):
                return " ".join(str(p.get("text", "")) for p in m.content if p.get("type") == "text")
    raise InvalidInputError("no user message to answer")
