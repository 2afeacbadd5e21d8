"""OpenAI-compatible chat completions: the last user message is the question, the answer the reply."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import Rt
from api.errors import error_responses
from api.openai_format import Completion, history_from, last_user_text
from api.schemas import ChatRequest
from api.sse import SSE_CONTENT, stream_answer

router = APIRouter()


@router.get("/v1/models", summary="OpenAI-compatible: the one model this server answers with")
async def models() -> dict[str, Any]:
    # OpenAI front-ends list the models before the first chat; any `model` name is answered by askdoc.
    return {"object": "list", "data": [{"id": "askdoc", "object": "model", "created": 0, "owned_by": "askdoc"}]}


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
    if body.stream:
        # ask_stream() checks the question at the call: bad input gets its 400 before the stream starts (a 200).
        events = engine.ask_stream(question, history=history)
        return stream_answer(rt.gate, events, completion.chunks(events), completion.error)
    answer = await rt.gate.run(lambda: engine.ask(question, history=history))
    return JSONResponse(completion.message(answer.to_json()))
