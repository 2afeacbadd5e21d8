"""What an answer is built from and cites: numbered sources, each with the sentences chosen from its section."""

from __future__ import annotations

from dataclasses import dataclass, field

from index.lexical import tokenize


@dataclass
class Source:
    n: int  # the number the answer cites it by
    section_id: str
    heading: str
    sentences: list[str]  # chosen sentences, in document order
    score: float  # first-stage score of the section
    snippet: str  # the best passage of the section
    sentence_scores: list[float] = field(default_factory=list)  # match of each chosen sentence to the question
    document: str = ""  # the file the section is from
    heading_path: list[str] = field(default_factory=list)
    page: int | None = None  # PDF page

    @property
    def reference(self) -> str:
        """ "report.pdf, p. 12, § 3.2 Methods"; a section nested deeper than its part says what it sits under:
        "runbook.md, § Troubleshooting › High memory usage" (the document's top heading left out)."""
        page = [f"p. {self.page}"] if self.page is not None else []
        where = " › ".join(self.heading_path[1:]) if len(self.heading_path) > 2 else self.heading
        return ", ".join([self.document, *page, f"§ {where}"]) if self.document else self.heading

    def to_citation(self) -> dict[str, object]:
        return {
            "n": self.n,
            "section_id": self.section_id,
            "heading": self.heading,
            "snippet": " ".join(self.sentences) or self.snippet,
            "score": round(self.score, 6),
            "document": self.document,
            "heading_path": self.heading_path,
            "page": self.page,
            "reference": self.reference,
        }


def lexical_overlap(a: str, b_tokens: set[str]) -> float:
    """Share of a's content words (stemmed) that occur in b."""
    words = tokenize(a)
    return sum(w in b_tokens for w in words) / len(words) if words else 0.0
