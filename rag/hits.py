"""What a search returns: the sections it found, best first, and how long each stage took."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class SectionHit:
    rank: int
    section_id: str
    heading: str
    category: str
    score: float
    snippet: str  # text of the best passage of the section
    passage_id: str
    # Where the section is, for a citation such as "report.pdf, p. 12, § 3.2" (added fields; older ones unchanged).
    document: str = ""
    heading_path: list[str] = field(default_factory=list)
    page: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SearchResult:
    query: str
    mode: str
    hits: list[SectionHit]
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds per stage
    corrections: dict[str, str] = field(default_factory=dict)  # typed word -> the collection word searched for
    search_question: str = ""  # set when a follow-up searched with more than the query (rag.followup)
    collection: str = "default"  # the collection searched
    # Each first-stage retriever's top section and score (before fusion); the refusal signals read them.
    leaders: dict[str, tuple[str, float]] = field(default_factory=dict)
    notice: str = ""  # why the search was not served as asked (mode rerank without a reranker)
    # The question's words the collection never uses, as typed (after typo correction), but for common English
    # ones (index.spelling.notable): the results are only near them in meaning, and the user should know.
    unknown_words: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = {
            "query": self.query,
            "mode": self.mode,
            "results": [h.to_json() for h in self.hits],
            "timings_ms": {k: round(v, 2) for k, v in self.timings.items()},
            "corrections": self.corrections,
            "collection": self.collection,
            "unknown_words": self.unknown_words,
        }
        out |= {"search_question": self.search_question} if self.search_question else {}
        return out | ({"notice": self.notice} if self.notice else {})


def elapsed_ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
