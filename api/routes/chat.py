"""OpenAI-compatible chat completions: the last user message is the question, the answer the reply."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import Rt
from api.errors import ApiError, error_responses
from api.openai_format import Completion, history_from, last_user_text
from api.schemas import ChatRequest
from api.sse import SSE_CONTENT, stream_answer

router = APIRouter()


# When this askdoc started: a model's `created` (OpenAI front-ends show 0 as 1970).
_STARTED = int(time.time())


def _model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": _STARTED, "owned_by": "askdoc"}


@router.get("/v1/models", summary="OpenAI-compatible: the one model this server answers with")
async def models() -> dict[str, Any]:
    # OpenAI front-ends list the models before the first chat; any `model` name is answered by askdoc.
    return {"object": "list", "data": [_model("askdoc")]}


@router.get("/v1/models/{model}", summary="OpenAI-compatible: a model (any name is answered by askdoc)")
async def model(model: str) -> dict[str, Any]:
    return _model(model)


@router.post(
    "/v1/chat/completions",
    summary="OpenAI-compatible chat: the last user message is the question",
    responses={200: {"content": SSE_CONTENT}, **error_responses(400, 404, 413, 415, 422, 503, 504)},
)
async def chat(body: ChatRequest, rt: Rt) -> Any:
    if (unsupported := body.unsupported()) is not None:
        raise ApiError(400, unsupported, "invalid_request")
    question = last_user_text(body.messages)
    completion = Completion(body.model)
    engine = rt.engine(body.collection)
    # earlier user messages: a follow-up is searched with their topic
    history = history_from(body.messages, rt.settings.max_question_chars)
    if body.stream:
        # ask_stream() checks the question at the call: bad input gets its 400 before the stream starts (a 200).
        events = engine.ask_stream(question, history=history)
        return stream_answer(rt.gate, events, completion.chunks(events), completion.error)
    answer = await rt.gate.run(lambda: engine.ask(question, history=history))
    return JSONResponse(completion.message(answer.to_json()))
