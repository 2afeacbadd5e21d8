"""The records of an answer: the answer itself, the events of its stream, and the draft it is built from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rag.config import Settings
from rag.context import Source
from rag.evidence import Evidence
from rag.hits import SectionHit, elapsed_ms
from rag.refusal import Signals, reasons
from rag.verify import SentenceSupport

REFUSAL = "The document does not cover this question."


def refusal_text(documents: int) -> str:
    """What a refused answer says: of "the document", or of "the documents" in a collection of several."""
    return REFUSAL if documents <= 1 else "The documents do not cover this question."


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
    corrections: dict[str, str] = field(default_factory=dict)  # misspelt question words -> what was searched for
    search_question: str = ""  # what retrieval searched with (a follow-up carries words of the turn before)
    collection: str = "default"  # the collection it was answered from

    @property
    def refused(self) -> bool:
        return self.mode == "refused"

    def cited_sources(self) -> list[Source]:
        """The sources its sentences cite, in source order."""
        cited = {n for s in self.sentences for n in s.sources}
        return [s for s in self.sources if s.n in cited]

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "citations": [s.to_citation() for s in self.cited_sources()],
            "sentences": [s.to_json() for s in self.sentences],
            "refused": self.refused,
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
            "mode": self.mode,
            "confidence": round(self.confidence, 4),
            "nearest": self.nearest,
            "notice": self.notice,
            "draft": self.draft,
            "refusal": self.refusal,
            "corrections": self.corrections,
            "search_question": self.search_question or self.question,
            "collection": self.collection,
        }


@dataclass
class TokenEvent:
    """A verified sentence with its citation (with a leading space after the first): the events' texts join to
    the final answer's text."""

    text: str


@dataclass
class FinalEvent:
    answer: Answer


@dataclass
class Draft:
    """What one answer has gathered so far, before it is final."""

    question: str
    hits: list[SectionHit]
    evidence: Evidence
    timings: dict[str, float]
    start: float

    signals: Signals | None = None
    search: str = ""  # what retrieval searched with, when it is not the question itself
    covered: float = 1.0  # the refusal model's probability that the collection answers the question
    contributions: dict[str, float] = field(default_factory=dict)  # each signal's part of its log-odds
    refuse_below: float = Settings.refuse_below  # the threshold it is judged by (AskDoc.ask_stream sets it)
    corrections: dict[str, str] = field(default_factory=dict)  # misspelt words and what was searched for
    documents: int = 1  # in the collection the answer reads (a refusal speaks of "the documents" when several)

    def final(self, answer: Answer) -> FinalEvent:
        answer.timings = self.timings | {"total": elapsed_ms(self.start)}
        answer.corrections = self.corrections
        answer.search_question = self.search
        answer.refusal = {"covered": round(self.covered, 4), "refuse_below": self.refuse_below} | (
            {"signals": self.signals.to_json(), "unknown_words": self.signals.unknown} if self.signals else {}
        )
        if self.contributions:
            answer.refusal["contributions"] = {k: round(v, 4) for k, v in self.contributions.items()}
            if answer.refused and self.covered < self.refuse_below:  # the model's refusal, not a lack of evidence
                answer.refusal["reasons"] = reasons(self.contributions)
        return FinalEvent(answer)


def shown(check: SentenceSupport) -> str:
    return f"{check.text} [{check.sources[0]}]"


def join(checks: list[SentenceSupport]) -> str:
    return " ".join(shown(c) for c in checks)


def token(check: SentenceSupport, first: bool) -> TokenEvent:
    """A streamed piece: the sentence as shown, after a space unless it is the first; the pieces join to join()."""
    return TokenEvent(("" if first else " ") + shown(check))
