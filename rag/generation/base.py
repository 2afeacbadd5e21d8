"""What every chat backend shares: the ChatModel interface, its stats, and the output guard.

Every backend is configured in __init__, loads in warm_up() and generates in _pieces(). Decoding is greedy so
answers are reproducible, and every backend's output goes through the same guard (stop strings, loop cut-off),
so generate() is exactly "".join(stream()) whatever the backend.
"""

from __future__ import annotations

import contextlib
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass

from corpus.errors import InvalidInputError

# From `bench/llm_backends.py --penalty-sweep` (llama.cpp, 10 RAG questions, 128 tokens, no loop cut-off): at 1.0
# the 135M model looped (12-word repeat) in 5 answers of 10, at 1.05-1.1 in 1; from 1.15 on it copies less from
# the sources (share of answer words found in them 0.66-0.70 -> 0.57-0.60). 1.1 is also llama.cpp's default.
# Both local backends apply it llama.cpp's way: to the last REPEAT_WINDOW generated tokens, never to the prompt.
REPETITION_PENALTY = 1.1
REPEAT_WINDOW = 64
# A run of this many words that already occurred earlier in the answer means the model is looping. 8 already
# cut legitimate restatements ("the number of true positives divided by the number of ..."); real loops repeat
# whole sentences or short periods, which 12 still catches (5 of the 6 loops at penalty 1.0).
LOOP_NGRAM = 12

Messages = list[dict[str, str]]


@dataclass
class GenerationStats:
    """What the last stream()/generate() call did (for logs, the API and the benchmark)."""

    new_tokens: int = 0  # tokens the backend generated, including any the guard cut off
    finish_reason: str = ""  # "eos", "length" (token cap), "stop" (stop string) or "loop"


def find_repetition(text: str, ngram: int = LOOP_NGRAM) -> int | None:
    """Offset in `text` where it starts repeating itself, or None.

    That is the start of the first run of `ngram` words (case-insensitive) that already occurred earlier, so
    `text[:offset]` keeps one copy of whatever the model went on to repeat.
    """
    words = list(re.finditer(r"\S+", text))
    seen: set[tuple[str, ...]] = set()
    for start in range(len(words) - ngram + 1):
        gram = tuple(w.group().lower() for w in words[start : start + ngram])
        if gram in seen:
            return words[start].start()
        seen.add(gram)
    return None


class OutputGuard:
    """Applies stop strings and the loop cut-off to streamed text.

    It holds back just enough text (the last ngram-1 words, a possible stop-string prefix) that a later cut never
    has to take back something already yielded.
    """

    def __init__(self, stop: list[str], ngram: int) -> None:
        self.stop = [s for s in stop if s]
        self.ngram = ngram
        self.text = ""
        self.sent = 0
        self.reason = ""

    def feed(self, piece: str) -> str:
        self.text += piece
        if not self.sent:
            self.text = self.text.lstrip()  # backends differ on a leading space; answers never start with one
        if self._cut(final=False):
            return self._release(len(self.text))
        return self._release(self._safe_end())

    def finish(self) -> str:
        self._cut(final=True)
        self.text = self.text.rstrip()
        return self._release(len(self.text))

    def _cut(self, final: bool) -> bool:
        cuts: list[tuple[int, str]] = []
        for s in self.stop:
            at = self.text.find(s)
            if at >= 0:
                cuts.append((at, "stop"))
        # Words still being written can't be compared yet; at the end of the stream every word is complete.
        complete = self.text if final else self.text[: _last_space(self.text)]
        loop_at = find_repetition(complete, self.ngram) if self.ngram > 0 else None
        if loop_at is not None:
            cuts.append((loop_at, "loop"))
        if not cuts:
            return False
        at, self.reason = min(cuts)
        self.text = self.text[:at].rstrip()
        return True

    def _safe_end(self) -> int:
        starts = [w.start() for w in re.finditer(r"\S+", self.text)]
        complete = len(re.findall(r"\S+", self.text[: _last_space(self.text)]))
        # The next loop found can start no earlier than the window ending on the next word to complete (and a
        # repeat is never the first word).
        first_open = max(complete - self.ngram + 1, 1) if self.ngram > 0 else len(starts)
        end = starts[first_open] if first_open < len(starts) else len(self.text)
        if self.stop:
            end = min(end, len(self.text) - max(len(s) for s in self.stop) + 1)
        return len(self.text[:end].rstrip())

    def _release(self, end: int) -> str:
        if end <= self.sent:
            return ""
        out, self.sent = self.text[self.sent : end], end
        return out


def _last_space(text: str) -> int:
    """Length of the prefix that ends with whitespace, i.e. holds only complete words."""
    match = re.search(r"\s(?=\S*$)", text)
    return match.end() if match else 0


class ChatModel(ABC):
    """A chat LLM: messages in ([{"role": ..., "content": ...}]), text out, streamed or whole."""

    name: str
    # A local model has one KV cache and one set of weights: concurrent generations must take turns.
    exclusive = True

    def __init__(self, *, loop_ngram: int = LOOP_NGRAM) -> None:
        self.loop_ngram = loop_ngram  # 0 turns the loop cut-off off (for measuring it)
        self.last_stats = GenerationStats()  # with concurrent non-exclusive use: the last one to finish
        self._lock = threading.Lock()

    @abstractmethod
    def warm_up(self) -> None:
        """Load the model (once; later calls return at once)."""

    @abstractmethod
    def _pieces(self, messages: Messages, max_new_tokens: int, stop: list[str]) -> Iterator[str]:
        """Raw generated text pieces; must count tokens into self.last_stats.new_tokens."""

    def stream(self, messages: Messages, max_new_tokens: int, stop: list[str] | None = None) -> Iterator[str]:
        """Yield the answer as it is generated; the pieces join to exactly what generate() returns."""
        if max_new_tokens < 1:
            raise InvalidInputError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
        self.warm_up()
        with self._lock if self.exclusive else contextlib.nullcontext():
            self.last_stats = GenerationStats()
            guard = OutputGuard(stop or [], self.loop_ngram)
            raw = self._pieces(messages, max_new_tokens, stop or [])
            try:
                for piece in raw:
                    out = guard.feed(piece)
                    if out:
                        yield out
                    if guard.reason:
                        break
            finally:
                raw.close()  # stops the backend (generation thread, HTTP stream) when we quit early
            out = guard.finish()
            if out:
                yield out
            stats = self.last_stats
            if guard.reason or not stats.finish_reason:
                stats.finish_reason = guard.reason or ("length" if stats.new_tokens >= max_new_tokens else "eos")

    def generate(self, messages: Messages, max_new_tokens: int, stop: list[str] | None = None) -> str:
        return "".join(self.stream(messages, max_new_tokens, stop))

    def constrained(self, messages: Messages, grammar: str, max_new_tokens: int) -> str:
        """Greedy text that a GBNF grammar allows: the model can only say what the grammar lets it."""
        raise InvalidInputError(f"{self.name} cannot decode under a grammar; use the llama.cpp backend")
