"""OpenAI-compatible chat completions: the last user message is the question, the answer the reply."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import Rt
from api.errors import error_responses
from api.openai_format import Completion, history_from, last_user_text
from api.schemas import ChatRequest
from api.sse import SSE_CONTENT, stream_response

router = APIRouter()


@router.post(
    "/v1/chat/completions",
    summary="OpenAI-compatible chat: the last user message is the question",
    responses={200: {"content": SSE_CONTENT}, **error_responses(400, 404, 413, 415, 422, 503, 504)},
)
async def chat(body: ChatRequest, rt: Rt) -> Any:
    question = last_user_text(body.messages)
    completion = Completion(body.model)
    history = history_from(body.messages)  # earlier user messages: a follow-up is searched with their topic
    engine = rt.engine(body.collection)
    answer = await rt.gate.run(lambda: engine.ask(question, history=history))
    data = answer.to_json()
    if not body.stream:
        return JSONResponse(completion.message(data))
    # The answer is complete and holds nothing: its chunks need no producer thread of their own.
    return stream_response(completion.chunks(data))
