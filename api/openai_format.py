"""The OpenAI chat-completions wire format around an askdoc answer: the question taken from the messages, the
answer as a chat.completion object or as a stream of chat.completion.chunk events."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from api.schemas import ChatMessage
from api.sse import sse
from corpus.errors import InvalidInputError
from rag.followup import MAX_TURNS, Turn
from rag.pipeline import FinalEvent, TokenEvent


def last_user_text(messages: list[ChatMessage]) -> str:
    """The question: the last user message (of a list of content parts, the text parts joined)."""
    for m in reversed(messages):
        if m.role == "user":
            return _text(m)
    raise InvalidInputError("no user message to answer")


def history_from(messages: list[ChatMessage], max_chars: int) -> list[Turn]:
    """The conversation before the last user message, as follow-up history: each earlier user message is a
    question; the assistant reply after it gives the sections it cited, when the client sent back the
    `citations` we returned (those its [n] markers name, or all of them). Only the last MAX_TURNS turns count.
    An earlier message over `max_chars` (a pasted text) is no question and sets no topic: left out, it would
    otherwise fail every later request of the chat (only the last message is the user's to fix)."""
    last = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
    turns: list[Turn] = []
    for m in messages[: max(last, 0)]:
        text = _text(m)
        if m.role == "user" and 0 < len(text.strip()) <= max_chars:
            turns.append(Turn(text))
        elif m.role == "assistant" and turns and m.citations:
            turns[-1] = Turn(turns[-1].question, _cited(_text(m), m.citations))
    return turns[-MAX_TURNS:]


def _text(m: ChatMessage) -> str:
    if isinstance(m.content, list):
        return " ".join(p.text or "" for p in m.content if p.type == "text")
    return m.content or ""


def _cited(text: str, citations: list[dict[str, Any]]) -> tuple[str, ...]:
    marked = {int(n) for n in re.findall(r"\[(\d+)\]", text)}
    ids = [str(c["section_id"]) for c in citations if isinstance(c.get("section_id"), str)]
    named = [str(c["section_id"]) for c in citations if isinstance(c.get("section_id"), str) and c.get("n") in marked]
    return tuple(dict.fromkeys(named or ids))


@dataclass
class Completion:
    """One completion's identity, shared by the object and by every chunk of its stream."""

    model: str
    created: int = field(default_factory=lambda: int(time.time()))
    id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex[:24]}")

    def message(self, answer: dict[str, Any]) -> dict[str, Any]:
        """The chat.completion object for an answer (`answer`: the JSON of `askdoc ask --json`, kept as "askdoc")."""
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer["answer"]},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "citations": answer["citations"],
            "askdoc": answer,
        }

    def chunks(self, events: Iterator[TokenEvent | FinalEvent]) -> Iterator[str]:
        """An answer's events as SSE chunks: a verified sentence each as it is ready (never the raw draft, so a
        client that joins the deltas gets exactly the non-streaming message), then the citations, then [DONE]."""
        yield self._chunk({"role": "assistant", "content": ""}, None)
        for event in events:
            if isinstance(event, TokenEvent):
                yield self._chunk({"content": event.text}, None)
            elif isinstance(event, FinalEvent):
                yield self._chunk({}, "stop", {"citations": event.answer.to_json()["citations"]})
        yield sse("[DONE]")

    def error(self, message: str) -> str:
        """A failure after the stream began, as OpenAI's API streams one, then the end of the stream."""
        return sse({"error": {"message": message, "type": "server_error"}}) + sse("[DONE]")

    def _chunk(self, delta: dict[str, str], finish: str | None, extra: dict[str, Any] | None = None) -> str:
        obj = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **(extra or {}),
        }
        return sse(obj)
