"""Server-sent events: the /ask event stream, and the thread that produces a stream holding resources."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from fastapi.responses import StreamingResponse

from api.errors import INTERNAL
from api.gate import AnswerGate
from corpus.errors import AskdocError
from rag.compose import Events
from rag.pipeline import FinalEvent, TokenEvent

log = logging.getLogger("askdoc.api")
MEDIA_TYPE = "text/event-stream"

# Before OpenAPI 3.2 the schema of a text/event-stream describes each event.
SSE_CONTENT = {
    MEDIA_TYPE: {
        "schema": {
            "type": "object",
            "description": "One server-sent event. /ask: `token` events ({text}), then one `final` event (the answer "
            "JSON) or an `error` event ({message}). Chat: chat.completion.chunk objects, then [DONE].",
            "properties": {"event": {"type": "string"}, "data": {"type": "string"}},
            "required": ["data"],
        }
    }
}


def sse(data: Any, event: str = "") -> str:
    """One event: `data` as JSON (a str as it is), under the `event` name when there is one."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data if isinstance(data, str) else json.dumps(data)}\n\n"


def answer_events(events: Events) -> Iterator[str]:
    """/ask as SSE: `token` events, each a verified sentence as it is ready, then one `final` event with the
    answer, citations, sentence support and timings (the same object as `askdoc ask --json`)."""
    for event in events:
        if isinstance(event, TokenEvent):
            yield sse({"text": event.text}, "token")
        elif isinstance(event, FinalEvent):
            yield sse(event.answer.to_json(), "final")


def answer_error(message: str) -> str:
    return sse({"message": message}, "error")


def stream_answer(
    gate: AnswerGate, events: Events, chunks: Iterator[str], error: Callable[[str], str] = answer_error
) -> StreamingResponse:
    """The response streaming `chunks` made from an answer's `events`, holding a place at the gate (Busy: 503)
    until the stream ends, however it ends."""
    gate.enter()
    return stream_response(produced(_guarded(chunks, events, gate.leave, error)))


def _guarded(
    chunks: Iterator[str], events: Events, release: Callable[[], None], error: Callable[[str], str]
) -> Iterator[str]:
    """A failure midway ends the stream with `error(message)` (the stream has begun: its status cannot
    change). The events are closed and `release` runs however it ends."""
    try:
        yield from chunks
    except AskdocError as exc:
        yield error(str(exc))
    except Exception:
        log.exception("answer stream failed")
        yield error(INTERNAL)
    finally:
        events.close()  # type: ignore[attr-defined]  # releases the generation lock at once when cut short
        release()


_UNBUFFERED = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def stream_response(chunks: Iterator[str] | AsyncIterator[str]) -> StreamingResponse:
    # A proxy (nginx) would otherwise hold the stream back until it ends: each sentence is meant to show at once.
    return StreamingResponse(chunks, media_type=MEDIA_TYPE, headers=_UNBUFFERED)


def produced(chunks: Iterator[str]) -> AsyncIterator[str]:
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
