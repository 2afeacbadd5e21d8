"""The Python API: one object that holds the loaded models and answers questions (sync and streaming).

    askdoc = AskDoc(Settings.from_env()); askdoc.warm_up()
    answer = askdoc.ask("What is self-attention?")
    for event in askdoc.ask_stream("..."): ...   # TokenEvent..., then one FinalEvent

The LLM proposes, the verifier disposes: generated sentences that the sources do not support are dropped, and
when too few survive the answer is extractive (the best-matching source sentences, cited) instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from corpus.errors import AskdocError
from corpus.model import Section
from index.collection import Notify, quiet
from rag.citations import clean_markers
from rag.config import Settings
from rag.context import Source, select_context
from rag.generation import ChatModel, load_chat_model
from rag.prompt import build_messages
from rag.retrieve import Retriever, SearchResult, clean_question
from rag.verify import SentenceSupport, supported_share, verify

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
        }


@dataclass
class TokenEvent:
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
    ) -> None:
        """`retriever`: a loaded one to share (its embedder and index); else one is made from the settings."""
        self.settings = settings
        self.retriever = retriever if retriever is not None else Retriever(settings, notify=notify, progress=progress)
        self._notify = notify or quiet
        self._llm: ChatModel | None = None
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

    def ask(self, question: str, k: int | None = None, mode: str | None = None, extractive: bool = False) -> Answer:
        final = None
        for event in self.ask_stream(question, k, mode, extractive):
            if isinstance(event, FinalEvent):
                final = event.answer
        assert final is not None
        return final

    def ask_stream(
        self, question: str, k: int | None = None, mode: str | None = None, extractive: bool = False
    ) -> Iterator[TokenEvent | FinalEvent]:
        start = time.perf_counter()
        query = clean_question(question, self.settings)
        t = time.perf_counter()
        qvec = self.retriever.embedder.embed([query])[0]
        embed_ms = _ms(t)
        result = self.retriever.search(query, k=k, mode=mode, vector=qvec)
        timings = {f"retrieve_{k}": v for k, v in result.timings.items()}
        timings["retrieve_embed"] = embed_ms
        t = time.perf_counter()
        sources, confidence = select_context(query, qvec, result.hits, self.retriever.index, self.retriever.embedder)
        timings["context"] = _ms(t)

        def done(answer: Answer) -> FinalEvent:
            answer.timings = timings | {"total": _ms(start)}
            return FinalEvent(answer)

        if confidence < self.settings.refuse_below or not sources:
            nearest = [h.to_json() for h in result.hits[:3]]
            yield done(Answer(question, REFUSAL, "refused", [], [], {}, confidence, nearest))
            return
        if extractive or self._llm is None:
            self.warm_up(llm=not extractive)
        if extractive or self._llm is None:
            yield done(self._extractive(question, sources, confidence, self._llm_error if not extractive else ""))
            return

        t = time.perf_counter()
        pieces: list[str] = []
        with self.generation_lock:
            for piece in self._llm.stream(build_messages(query, sources), self.settings.max_new_tokens):
                if not pieces:
                    timings["first_token"] = _ms(t)
                pieces.append(piece)
                yield TokenEvent(piece)
        timings["generate"] = _ms(t)
        draft = "".join(pieces).strip()

        t = time.perf_counter()
        valid = {s.n for s in sources}
        checks = verify(clean_markers(draft, valid), sources, self.retriever.embedder)
        timings["verify"] = _ms(t)
        kept = [c for c in checks if c.supported]
        if not kept or supported_share(checks) < self.settings.min_supported:
            answer = self._extractive(question, sources, confidence, "the generated answer was not supported")
            answer.draft = draft
            yield done(answer)
            return
        text = " ".join(f"{c.text} [{c.sources[0]}]" for c in kept)
        yield done(Answer(question, text, "generated", sources, checks, {}, confidence, draft=draft))

    def _extractive(self, question: str, sources: list[Source], confidence: float, notice: str) -> Answer:
        """The best-matching source sentences, each cited: nothing said that the document does not say."""
        ranked = sorted(
            (
                (score, src.n, sent)
                for src in sources
                for sent, score in zip(src.sentences, src.sentence_scores, strict=False)
            ),
            key=lambda x: -x[0],
        )[:2]
        checks = [SentenceSupport(sent, [n], True, score) for score, n, sent in ranked]
        text = " ".join(f"{c.text} [{c.sources[0]}]" for c in checks)
        return Answer(question, text, "extractive", sources, checks, {}, confidence, notice=notice)

    def section(self, section_id: str) -> Section | None:
        """A whole section of the collection, or None when there is no section with this id."""
        return self.retriever.index.sections.get(section_id)

    def status(self) -> dict[str, Any]:
        """What a readiness check reports: the language model (None: answers are extractive) and the collection
        size."""
        return {"llm": self.llm_name or None, "sections": len(self.retriever.index.sections)}


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
