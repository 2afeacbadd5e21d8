"""Focused context for a small LLM: the few sentences of the top sections that best match the question."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from corpus.text import split_sentences
from index.embed import Embedder
from index.lexical import tokenize
from index.store import StoredIndex
from rag.retrieve import SectionHit

MIN_SENTENCE_CHARS = 12


def is_evidence(sentence: str) -> bool:
    """Bare sub-headings ("Absolute Positional Encoding in the Original Transformer"), code lines and
    fragments make poor evidence and worse extractive answers."""
    words = sentence.split()
    if len(sentence) < MIN_SENTENCE_CHARS or len(words) < 4:
        return False
    if sentence.startswith(("from ", "import ", "def ", "print(", ">>>")) or sentence.count("=") > 2:
        return False
    return sentence[-1] in ".!?:)\"”" or len(words) >= 10


@dataclass
class Source:
    n: int  # the number the answer cites it by
    section_id: str
    heading: str
    sentences: list[str]  # chosen sentences, in document order
    score: float  # first-stage score of the section
    snippet: str  # the best passage of the section
    sentence_scores: list[float] = field(default_factory=list)  # match of each chosen sentence to the question

    def to_citation(self) -> dict[str, object]:
        return {
            "n": self.n,
            "section_id": self.section_id,
            "heading": self.heading,
            "snippet": " ".join(self.sentences) or self.snippet,
            "score": round(self.score, 6),
        }


def lexical_overlap(a: str, b_tokens: set[str]) -> float:
    """Share of a's content words (stemmed) that occur in b."""
    words = tokenize(a)
    return sum(w in b_tokens for w in words) / len(words) if words else 0.0


def select_context(
    question: str,
    question_vec: np.ndarray,
    hits: list[SectionHit],
    index: StoredIndex,
    embedder: Embedder,
    max_sources: int = 3,
    per_source: int = 3,
    budget_tokens: int = 320,
) -> tuple[list[Source], float]:
    """Sources for the prompt and the best sentence-to-question match (a confidence signal)."""
    by_id = {p.id: p for p in index.passages}
    candidates: list[tuple[int, str]] = []
    for i, hit in enumerate(hits[:max_sources]):
        text = by_id[hit.passage_id].text if hit.passage_id in by_id else hit.snippet
        seen = {c for _, c in candidates}
        candidates += [(i, s) for s in dict.fromkeys(split_sentences(text)) if is_evidence(s) and s not in seen]
    if not candidates:
        return [], 0.0
    vecs = embedder.embed([s for _, s in candidates])
    q_tokens = set(tokenize(question))
    scores = vecs @ question_vec + 0.25 * np.array([lexical_overlap(s, q_tokens) for _, s in candidates])

    chosen: dict[int, list[int]] = {}
    used = 0
    # Best sentences first across sources, so the budget goes to the strongest evidence.
    for j in np.argsort(-scores):
        src, sentence = candidates[j]
        if len(chosen.get(src, [])) >= per_source:
            continue
        cost = embedder.count_tokens(sentence)
        if used + cost > budget_tokens and chosen:
            continue
        chosen.setdefault(src, []).append(int(j))
        used += cost
    sources = []
    for i, hit in enumerate(hits[:max_sources]):
        picked = sorted(chosen.get(i, []))  # document order reads better than score order
        if not picked:
            continue
        sources.append(
            Source(
                n=len(sources) + 1,
                section_id=hit.section_id,
                heading=hit.heading,
                sentences=[candidates[j][1] for j in picked],
                score=hit.score,
                snippet=hit.snippet,
                sentence_scores=[float(scores[j]) for j in picked],
            )
        )
    return sources, float(scores.max())
