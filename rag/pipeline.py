"""The Python API: one object that holds the loaded models and answers questions (sync and streaming).

    askdoc = AskDoc(Settings.from_env()); askdoc.warm_up()
    answer = askdoc.ask("What is self-attention?")
    for event in askdoc.ask_stream("..."): ...   # TokenEvent..., then one FinalEvent

Evidence first: every sentence of the top sections is scored against the question (rag.evidence). The answer
quotes the best of them (answer_style "extractive", the default), or the LLM writes from them ("generate") and a
sentence is shown only once the verifier finds it supported (rag.verify); nothing shown is withdrawn.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from corpus.errors import AskdocError
from corpus.model import Section
from corpus.text import split_sentences
from index.collection import Notify, quiet
from rag.config import ANSWER_STYLES, Settings, check_choice
from rag.context import Source
from rag.evidence import (
    Evidence,
    EvidenceConfig,
    SentenceVectors,
    answer_sentences,
    prompt_sentences,
    score_evidence,
    to_sources,
)
from rag.generation import ChatModel, load_chat_model
from rag.prompt import build_messages
from rag.refusal import RefusalModel, Signals, signals
from rag.retrieve import Retriever, SearchResult, SectionHit, clean_question
from rag.verify import SentenceSupport, Verifier

REFUSAL = "The document does not cover this question."


@dataclass
class Answer:
    question: str
    answer: str
    mode: str  # "generated", "extractive" or "refused"
    sources: list[Source]
    sentences: list[SentenceSupport]
    timings: dict[str, float]
    confidence: float
    nearest: list[dict[str, Any]] = field(default_factory=list)  # on refusal: the closest sections
    notice: str = ""
    draft: str = ""  # what the LLM wrote, before verification
    refusal: dict[str, Any] = field(default_factory=dict)  # the refusal model's probability and signals

    @property
    def refused(self) -> bool:
        return self.mode == "refused"

    def to_json(self) -> dict[str, Any]:
        cited = {n for s in self.sentences for n in s.sources}
        return {
            "question": self.question,
            "answer": self.answer,
            "citations": [s.to_citation() for s in self.sources if s.n in cited],
            "sentences": [s.to_json() for s in self.sentences],
            "refused": self.refused,
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
            "mode": self.mode,
            "confidence": round(self.confidence, 4),
            "nearest": self.nearest,
            "notice": self.notice,
            "draft": self.draft,
            "refusal": self.refusal,
        }


@dataclass
class TokenEvent:
    """A verified sentence with its citation (with a leading space after the first): the events' texts join to
    the final answer's text."""

    text: str


@dataclass
class FinalEvent:
    answer: Answer


class AskDoc:
    def __init__(
        self,
        settings: Settings,
        retriever: Retriever | None = None,
        notify: Notify | None = None,
        progress: bool = True,
        llm: ChatModel | None = None,
    ) -> None:
        """`retriever`: a loaded one to share (its embedder and index); else one is made from the settings.
        `llm`: a chat model to use instead of the one the settings name (loaded on first need)."""
        self.settings = settings
        self.retriever = retriever if retriever is not None else Retriever(settings, notify=notify, progress=progress)
        self._notify = notify or quiet
        self.evidence = EvidenceConfig()
        self._vectors = SentenceVectors(self.retriever.embedder)
        self._refusal: RefusalModel | None = None
        self._llm: ChatModel | None = llm
        self._llm_error = ""
        # One model instance generates one answer at a time; callers queue here (the API bounds the queue).
        self.generation_lock = threading.Lock()

    def warm_up(self, llm: bool = True) -> None:
        self.retriever.warm_up()
        if llm and self._llm is None and not self._llm_error:
            try:
                model = load_chat_model(self.settings)
                model.warm_up()
                self._llm = model
            except AskdocError as exc:
                # No usable LLM: answers are extractive, and every answer says why.
                self._llm_error = str(exc)
                self._notify(f"no language model available ({exc}); answering extractively")

    @property
    def llm_name(self) -> str:
        return self._llm.name if self._llm else ""

    def search(self, question: str, k: int | None = None, mode: str | None = None) -> SearchResult:
        return self.retriever.search(question, k=k, mode=mode)

    def ask(
        self,
        question: str,
        k: int | None = None,
        mode: str | None = None,
        extractive: bool = False,
        style: str | None = None,
    ) -> Answer:
        final = None
        for event in self.ask_stream(question, k, mode, extractive, style):
            if isinstance(event, FinalEvent):
                final = event.answer
        assert final is not None
        return final

    def ask_stream(
        self,
        question: str,
        k: int | None = None,
        mode: str | None = None,
        extractive: bool = False,
        style: str | None = None,
    ) -> Iterator[TokenEvent | FinalEvent]:
        """Verified sentences as they are ready (TokenEvent, each with its citation; they join to the final answer's
        text), then one FinalEvent. The question is checked here, at the call, not at the first event, so a caller
        can refuse bad input before it starts a stream; it is cleaned once for the whole answer."""
        start = time.perf_counter()
        query = clean_question(question, self.settings)
        style = "extractive" if extractive else style or self.settings.answer_style
        check_choice("answer_style", style, ANSWER_STYLES)
        return self._events(question, query, k, mode, style, start)

    def _events(
        self, question: str, query: str, k: int | None, mode: str | None, style: str, start: float
    ) -> Iterator[TokenEvent | FinalEvent]:
        draft = self.gather(question, query, k, mode, start)
        t = time.perf_counter()
        self._refusal = self._refusal or RefusalModel.load()
        draft.covered = self._refusal.probability(draft.signals)
        draft.timings["refusal"] = _ms(t)
        if draft.covered < self.settings.refuse_below or not draft.evidence.sentences:
            nearest = [h.to_json() for h in draft.hits[:3]]
            yield draft.final(Answer(question, REFUSAL, "refused", [], [], {}, draft.evidence.best, nearest))
            return
        if style != "extractive":
            self.warm_up(llm=True)
        if style == "extractive" or self._llm is None:
            yield from self._quote(draft, "" if style == "extractive" else self._llm_error)
            return
        yield from self._generate(draft, query)

    def gather(self, question: str, query: str, k: int | None, mode: str | None, start: float) -> Draft:
        """Retrieve, score the evidence and read the refusal signals for a cleaned question."""
        t = time.perf_counter()
        qvec = self.retriever.embedder.embed([query])[0]
        embed_ms = _ms(t)
        result = self.retriever.search(query, k=k, mode=mode, vector=qvec, cleaned=True)
        timings = {f"retrieve_{name}": v for name, v in result.timings.items()} | {"retrieve_embed": embed_ms}
        t = time.perf_counter()
        sections = [h.section_id for h in result.hits]
        evidence = score_evidence(query, qvec, sections, self.retriever.index.sections, self._vectors, self.evidence)
        timings["context"] = _ms(t)
        draft = Draft(question, result.hits, evidence, timings, start)
        draft.signals = self._signals(query, qvec, draft)
        return draft

    def _signals(self, query: str, qvec: np.ndarray, draft: Draft) -> Signals:
        """What the refusal model weighs; the two single-retriever searches cost a millisecond or two."""
        tops = []
        for mode in ("dense", "bm25"):
            hits = self.retriever.search(query, k=1, mode=mode, vector=qvec, cleaned=True).hits
            tops.append((hits[0].section_id, hits[0].score) if hits else ("", 0.0))
        index = self.retriever.index
        best = draft.evidence.sentences[0].section_id if draft.evidence.sentences else ""
        text = index.sections[best].text if best else ""
        return signals(query, draft.evidence, text, index.lexical.coverage(query), tops[0], tops[1])

    def _quote(self, draft: Draft, notice: str = "", raw: str = "") -> Iterator[TokenEvent | FinalEvent]:
        """The best evidence sentences, each cited: nothing said that the document does not say."""
        chosen = answer_sentences(draft.evidence, self.evidence)
        sources = to_sources(chosen, draft.hits)
        number = {s.section_id: s.n for s in sources}
        checks = [SentenceSupport(s.text, [number[s.section_id]], True, s.score) for s in chosen]
        for i, c in enumerate(checks):
            yield TokenEvent(("" if i == 0 else " ") + shown(c))
        answer = Answer(draft.question, _join(checks), "extractive", sources, checks, {}, draft.evidence.best)
        answer.notice, answer.draft = notice, raw
        yield draft.final(answer)

    def _generate(self, draft: Draft, query: str) -> Iterator[TokenEvent | FinalEvent]:
        """The LLM writes from the best evidence sentences; a sentence is shown once the verifier supports it.
        When none is supported, the answer quotes the evidence instead."""
        assert self._llm is not None
        sources = to_sources(prompt_sentences(draft.evidence, self.evidence), draft.hits)
        t = time.perf_counter()
        verifier = Verifier(sources, self.retriever.embedder)
        draft.timings["verify"] = _ms(t)
        kept: list[SentenceSupport] = []
        pieces: list[str] = []
        with self.generation_lock:
            stream = self._llm.stream(build_messages(query, sources), self.settings.max_new_tokens)
            for sentence in complete_sentences(stream, pieces):
                check = verifier.check(sentence)
                if check.supported:
                    draft.timings.setdefault("first_sentence", _ms(draft.start))
                    yield TokenEvent(("" if not kept else " ") + shown(check))
                    kept.append(check)
        draft.timings["generate"] = _ms(t)
        raw = "".join(pieces).strip()
        if not kept:
            yield from self._quote(draft, "the generated answer was not supported by the sources", raw)
            return
        answer = Answer(draft.question, _join(kept), "generated", sources, kept, {}, draft.evidence.best, draft=raw)
        yield draft.final(answer)

    def section(self, section_id: str) -> Section | None:
        """A whole section of the collection, or None when there is no section with this id."""
        return self.retriever.index.sections.get(section_id)

    def status(self) -> dict[str, Any]:
        """What a readiness check reports: the language model (None: answers are extractive) and the collection
        size."""
        return {"llm": self.llm_name or None, "sections": len(self.retriever.index.sections)}


@dataclass
class Draft:
    """What one answer has gathered so far, before it is final."""

    question: str
    hits: list[SectionHit]
    evidence: Evidence
    timings: dict[str, float]
    start: float

    signals: Signals | None = None
    covered: float = 1.0  # the refusal model's probability that the collection answers the question

    def final(self, answer: Answer) -> FinalEvent:
        answer.timings = self.timings | {"total": _ms(self.start)}
        answer.refusal = {"covered": round(self.covered, 4)} | (
            {"signals": self.signals.to_json()} if self.signals else {}
        )
        return FinalEvent(answer)


def shown(check: SentenceSupport) -> str:
    return f"{check.text} [{check.sources[0]}]"


def _join(checks: list[SentenceSupport]) -> str:
    return " ".join(shown(c) for c in checks)


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


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
