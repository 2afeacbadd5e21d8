"""A cited answer: the same JSON as `askdoc ask --json`, or server-sent events as it is generated."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import Rt
from api.errors import error_responses
from api.schemas import AskRequest
from api.sse import MEDIA_TYPE, SSE_CONTENT, answer_events, stream_answer

router = APIRouter()


@router.post(
    "/ask",
    summary="A cited answer (same JSON as `askdoc ask --json`; SSE with stream=true)",
    responses={200: {"content": SSE_CONTENT}, **error_responses(400, 404, 413, 415, 422, 503, 504)},
)
async def ask(body: AskRequest, request: Request, rt: Rt) -> Any:
    options = {
        "k": body.k,
        "mode": body.mode,
        "extractive": body.extractive,
        "style": body.style,
        "history": body.turns(),
        "refuse_below": body.refuse_below,
    }
    engine = rt.engine(body.collection)
    if body.stream or MEDIA_TYPE in request.headers.get("accept", ""):
        # ask_stream() checks the question at the call: bad input gets its 400 before the stream starts (a 200).
        events = engine.ask_stream(body.question, **options)
        return stream_answer(rt.gate, events, answer_events(events))
    answer = await rt.gate.run(lambda: engine.ask(body.question, **options))
    return JSONResponse(answer.to_json())
