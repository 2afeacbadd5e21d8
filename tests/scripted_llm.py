"""A chat model that needs no weights, for fast tests of pipeline and API logic.

It subclasses the real ChatModel, so what it streams goes through the real output guard (stop strings, loop
cut-off, token cap accounting); only the text is scripted. Tests of the real backends stay in test_llm.py.
"""

from __future__ import annotations

from collections.abc import Iterator

from rag.generation.base import LOOP_NGRAM, ChatModel, Messages


class ScriptedChat(ChatModel):
    """Streams pre-set answers, one per generation (the last one repeats), in pieces of `piece_chars`
    characters. Each piece counts as one token, so max_new_tokens caps it as it caps a real backend."""

    def __init__(self, *answers: str, piece_chars: int = 4, name: str = "scripted", loop_ngram: int = LOOP_NGRAM):
        super().__init__(loop_ngram=loop_ngram)
        if not answers or piece_chars < 1:
            raise ValueError("ScriptedChat needs at least one answer and piece_chars >= 1")
        self.answers = list(answers)
        self.piece_chars = piece_chars
        self.name = name
        self.calls: list[Messages] = []  # the messages of each generation, for tests that check the prompt

    def warm_up(self) -> None:
        pass  # nothing to load

    def _pieces(self, messages: Messages, max_new_tokens: int, stop: list[str]) -> Iterator[str]:
        self.calls.append(messages)
        text = self.answers[min(len(self.calls), len(self.answers)) - 1]
        for start in range(0, len(text), self.piece_chars):
            if self.last_stats.new_tokens >= max_new_tokens:
                self.last_stats.finish_reason = "length"
                return
            self.last_stats.new_tokens += 1
            yield text[start : start + self.piece_chars]
        self.last_stats.finish_reason = "eos"
