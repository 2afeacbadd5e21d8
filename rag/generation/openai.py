"""The OpenAI-compatible backend: a client for any server that speaks the chat-completions API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from corpus.errors import AskdocError, ModelNotFoundError
from rag.generation.base import LOOP_NGRAM, ChatModel, Messages


class OpenAIChat(ChatModel):
    """Any server that speaks the OpenAI chat-completions API (llama.cpp server, vLLM, Ollama, OpenAI...)."""

    exclusive = False  # the server schedules concurrent requests itself

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "none",
        timeout: float = 120.0,
        *,
        loop_ngram: int = LOOP_NGRAM,
    ) -> None:
        super().__init__(loop_ngram=loop_ngram)
        self.base_url = base_url
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.name = f"openai:{model}@{base_url}"
        self._client: Any = None

    def warm_up(self) -> None:
        # No request here: the server is only needed when a question is asked, and errors are raised then.
        with self._lock:
            if self._client is not None:
                return
            try:
                import openai
            except ImportError as e:
                raise ModelNotFoundError("the openai backend needs the openai package: pip install openai") from e
            # No retries: a local server that refuses the connection will not accept it 0.5 s later either.
            self._client = openai.OpenAI(
                base_url=self.base_url, api_key=self.api_key or "none", max_retries=0, timeout=self.timeout
            )

    def _pieces(self, messages: Messages, max_new_tokens: int, stop: list[str]) -> Iterator[str]:
        import openai

        try:
            # Only standard parameters: servers disagree on the name of a repetition penalty and the real
            # OpenAI API rejects unknown ones; the shared loop guard still applies.
            response = self._client.chat.completions.create(
                model=self.model,
                messages=messages,
                max_tokens=max_new_tokens,
                temperature=0.0,
                stop=stop[:4] or None,  # the API takes at most 4; the guard applies all of them anyway
                stream=True,
            )
            with response:
                for chunk in response:
                    if not chunk.choices:
                        continue
                    choice = chunk.choices[0]
                    if choice.finish_reason:
                        self.last_stats.finish_reason = "length" if choice.finish_reason == "length" else "eos"
                    if text := choice.delta.content:
                        self.last_stats.new_tokens += 1
                        yield text
        except openai.APIConnectionError as e:
            raise AskdocError(
                f"cannot reach the OpenAI-compatible server at {self.base_url} ({e}); start it or set openai_base_url"
            ) from e
        except openai.APIStatusError as e:
            raise AskdocError(
                f"the server at {self.base_url} rejected the request (HTTP {e.status_code}): {e.message}"
            ) from e
