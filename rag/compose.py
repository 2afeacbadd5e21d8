"""Answer styles over scored evidence: quote it, let the LLM write from it (each sentence verified before it is
shown), or let the LLM choose from it under a grammar. Each yields the verified sentences as TokenEvents, then one
FinalEvent; nothing shown is withdrawn."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from corpus.errors import AskdocError
from corpus.text import split_sentences
from index.embed import Embedder
from rag.answer import Answer, Draft, FinalEvent, TokenEvent, join, token
from rag.constrained import copy_grammar, copy_messages, select
from rag.context import Source
from rag.evidence import EvidenceConfig, Sentence, answer_sentences, prompt_sentences, to_sources
from rag.generation import ChatModel
from rag.hits import elapsed_ms
from rag.prompt import build_messages
from rag.verify import SentenceSupport, Verifier

Events = Iterator[TokenEvent | FinalEvent]


@dataclass
class Composer:
    config: EvidenceConfig
    embedder: Embedder
    max_new_tokens: int
    generation_lock: threading.Lock

    def quote(self, draft: Draft, notice: str = "", raw: str = "") -> Events:
        """The best evidence sentences, each cited: nothing said that the document does not say."""
        sources, checks = quoted(answer_sentences(draft.evidence, self.config), draft)
        yield from settled(draft, "extractive", sources, checks, raw, notice)

    def constrained(self, llm: ChatModel, draft: Draft, query: str, style: str) -> Events:
        """The LLM chooses evidence under a grammar (rag.constrained): what it says is copied, so it is
        supported by construction and cited to the source it was copied from."""
        candidates = prompt_sentences(draft.evidence, self.config)
        t = time.perf_counter()
        with self.generation_lock:
            if style == "select":
                chosen, raw = select(llm, query, candidates)
                sources, checks = quoted(chosen, draft)
            else:
                sources = to_sources(candidates, draft.hits)
                given = {src.n: (src.heading, src.sentences) for src in sources}
                grammar = copy_grammar({n: sentences for n, (_, sentences) in given.items()})
                raw = llm.constrained(copy_messages(query, given), grammar, self.max_new_tokens)
                checks = [SentenceSupport(text, [n], True, 1.0) for text, n in copied(raw)]
        draft.timings["generate"] = elapsed_ms(t)
        if not checks:
            yield from self.quote(draft, "the language model chose no evidence", raw)
            return
        yield from settled(draft, "generated", sources, checks, raw)

    def generate(self, llm: ChatModel, draft: Draft, query: str) -> Events:
        """The LLM writes from the best evidence sentences; a sentence is shown once the verifier supports it.
        When none is supported, or the model gave no text at all (a server that is down), the answer quotes the
        evidence instead, as it does for a model that cannot be loaded."""
        sources = to_sources(prompt_sentences(draft.evidence, self.config), draft.hits)
        t = time.perf_counter()
        verifier = Verifier(sources, self.embedder)
        draft.timings["verify"] = elapsed_ms(t)
        answering = self._answering(draft, sources)
        kept: list[SentenceSupport] = []
        pieces: list[str] = []
        failed = ""
        with self.generation_lock:
            stream = llm.stream(build_messages(query, sources), self.max_new_tokens)
            try:
                for sentence in complete_sentences(stream, pieces):
                    check = verifier.check(sentence)
                    check.sources = [n for n in check.sources if n in answering]
                    check.supported = check.supported and bool(check.sources)
                    if check.supported and all(check.text != k.text for k in kept):  # a small model repeats itself
                        draft.timings.setdefault("first_sentence", elapsed_ms(draft.start))
                        yield token(check, first=not kept)
                        kept.append(check)
            except AskdocError as exc:
                if pieces:  # it failed midway: the stream ends with the error, and nothing shown is taken back
                    raise
                failed = f"the language model gave no answer ({exc})"
        draft.timings["generate"] = elapsed_ms(t)
        raw = "".join(pieces).strip()
        if not kept:
            yield from self.quote(draft, failed or "the generated answer was not supported by the sources", raw)
            return
        answer = Answer(draft.question, join(kept), "generated", sources, kept, {}, draft.evidence.best, draft=raw)
        yield draft.final(answer)

    def _answering(self, draft: Draft, sources: list[Source]) -> set[int]:
        """The sources a generated sentence may rest on: those whose section's best evidence sentence is within
        the quoted answer's margin of the best one (the sections in the running to answer). A sentence copied
        faithfully from a weaker prompt source is true but answers something else ("how does backprop work" ->
        a sentence about random seeds)."""
        floor = draft.evidence.best - self.config.answer_margin
        best: dict[str, float] = {}
        for s in draft.evidence.sentences:
            best.setdefault(s.section_id, s.score)  # best first
        return {src.n for src in sources if best.get(src.section_id, float("-inf")) >= floor}


def settled(
    draft: Draft, mode: str, sources: list[Source], checks: list[SentenceSupport], raw: str, notice: str = ""
) -> Events:
    """An answer whose sentences are all known and verified: each streamed, then the final answer."""
    for i, c in enumerate(checks):
        yield token(c, first=i == 0)
    answer = Answer(draft.question, join(checks), mode, sources, checks, {}, draft.evidence.best, notice=notice)
    answer.draft = raw
    yield draft.final(answer)


def quoted(chosen: list[Sentence], draft: Draft) -> tuple[list[Source], list[SentenceSupport]]:
    """Evidence sentences as they stand, each cited to its section: supported by construction."""
    sources = to_sources(chosen, draft.hits)
    number = {s.section_id: s.n for s in sources}
    return sources, [SentenceSupport(s.text, [number[s.section_id]], True, s.score) for s in chosen]


def copied(raw: str) -> list[tuple[str, int]]:
    """(text, source number) of each span of a copy-constrained answer ("span [1] Also, span [2]")."""
    parts = re.split(r"\s*\[(\d+)\]\s*", raw.strip())
    spans = [(text.strip(), int(n)) for text, n in zip(parts[::2], parts[1::2], strict=False) if text.strip()]
    return list(dict.fromkeys(spans))  # a small model repeats itself


def complete_sentences(stream: Iterator[str], pieces: list[str]) -> Iterator[str]:
    """Sentences of a text stream as each one completes (the next has begun); the rest once the stream ends,
    unless the token cap cut it off mid-sentence. Every piece is appended to `pieces` (the raw draft)."""
    done = 0
    for piece in stream:
        pieces.append(piece)
        sentences = split_sentences("".join(pieces))
        while done < len(sentences) - 1:
            yield sentences[done]
            done += 1
    rest = split_sentences("".join(pieces))[done:]
    for sentence in rest:
        if sentence[-1] in ".!)\"”'":
            yield sentence
