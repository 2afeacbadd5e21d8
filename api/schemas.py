"""Request bodies. Pydantic checks their shape (a 422 on a wrong field); what a question may say is the rag
layer's call (clean_question: a 400)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from corpus.text import ensure_text
from rag.config import ANSWER_STYLES, K_MAX, MODES
from rag.followup import MAX_TURNS, Turn

# Built from the one list of modes, so it cannot drift from it; a Literal keeps the enum in the OpenAPI schema.
Mode = Literal[MODES]  # type: ignore[valid-type]
Style = Literal[ANSWER_STYLES]  # type: ignore[valid-type]
# A lone surrogate would otherwise reach the tokenizer and the UTF-8 response encoder (a 500).
Text = Annotated[str, AfterValidator(ensure_text)]


class HistoryTurn(BaseModel):
    question: Text = Field(description="an earlier question of the conversation")
    sections: list[Text] = Field(default_factory=list, max_length=50, description="section ids its answer cited")


class SearchRequest(BaseModel):
    question: Text = Field(description="the question, 1 to 2,000 characters")
    collection: str | None = Field(default=None, description='the collection (default "default"); 404: none such')
    k: int | None = Field(default=None, ge=1, le=K_MAX)
    mode: Mode | None = None
    history: list[HistoryTurn] = Field(
        default_factory=list,
        max_length=MAX_TURNS,
        description="earlier turns of the conversation, most recent last: a follow-up ('what about its gamma?') "
        "is searched with the topic of the turn before",
    )

    def turns(self) -> list[Turn]:
        return [Turn(h.question, tuple(h.sections)) for h in self.history]


class AskRequest(SearchRequest):
    extractive: bool = False
    stream: bool = False
    style: Style | None = Field(default=None, description="answer style; default: the server's answer_style")
    refuse_below: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="refuse when the refusal model gives the collection less than this probability of answering; "
        "default: the server's refuse_below; 0 never refuses (an 'answer anyway')",
    )


class ContentPart(BaseModel):
    """One part of a message's content: a "text" part's text is read; other kinds (images) are ignored."""

    model_config = ConfigDict(extra="allow")
    type: str
    text: Text | None = None


class ChatMessage(BaseModel):
    role: str
    content: Text | list[ContentPart] | None = None
    # An assistant message may carry back the `citations` a completion returned: they give a follow-up its prior.
    citations: list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    model: Text = "askdoc"
    messages: list[ChatMessage] = Field(min_length=1)
    collection: str | None = Field(default=None, description='the collection (default "default"); 404: none such')
    stream: bool | None = False  # null (a client that sends every option) is not streamed
    # OpenAI options askdoc cannot honour are refused (400) rather than ignored: a client relying on them would
    # otherwise take a plain answer for what it asked. Others (temperature, max_tokens, …) are ignored.
    n: int | None = Field(default=None, description="only 1: askdoc gives one answer")
    tool_choice: Any = Field(default=None, description='"required" or a named tool: refused (askdoc calls none)')
    response_format: dict[str, Any] | None = Field(default=None, description='only {"type": "text"}')

    def unsupported(self) -> str | None:
        """Why the request asks for what askdoc does not do (None: nothing)."""
        if self.n not in (None, 1):
            return f"n={self.n}: askdoc gives one answer (n=1)"
        if self.tool_choice not in (None, "auto", "none"):
            return "tool_choice: askdoc answers from its documents and calls no tools"
        if self.response_format and self.response_format.get("type") not in (None, "text"):
            return f"response_format {self.response_format.get('type')!r}: askdoc answers in text"
        return None
