"""Check generated sentences, one at a time, against the sources they were written from.

A sentence is supported when (1) its best source matches it well (embedding similarity plus lexical overlap),
(2) every number it states occurs in one sentence of that source together with two of its other content words
(a number is bound to what it counts), and (3) every content word it uses (stemmed) occurs in that source.
(3) is what keeps a small model within the evidence: a sentence close in words and embedding to its source can
still invert it ("more weight to the majority class"), and it can only do so with words of its own.
Unsupported sentences are never shown; each shown one cites the source that supports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from corpus.text import normalise
from index.embed import Embedder
from index.lexical import tokenize
from rag.citations import cited_numbers, strip_markers
from rag.context import Source, lexical_overlap

SUPPORT_THRESHOLD = 0.6
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass
class SentenceSupport:
    text: str  # without citation markers
    sources: list[int]  # source numbers that support it, best first
    supported: bool
    score: float

    def to_json(self) -> dict[str, object]:
        return {"text": self.text, "sources": self.sources, "supported": self.supported, "score": round(self.score, 4)}


def checkable(sentence: str) -> bool:
    """Questions echoed from the prompt, list intros and scraps ("8.", "Hotels") are never evidence: a sentence
    says something in three words, two of them content words."""
    text = strip_markers(sentence)
    return len(text.split()) >= 3 and len(tokenize(text)) >= 2 and not text.endswith(("?", ":"))


def numbers_grounded(sentence: str, evidence: list[str]) -> bool:
    """Every number the sentence states occurs, as a number, in one evidence sentence that shares at least two
    other content words with it: small models invent figures fluently, and also move a true one onto another
    claim ("register within 6 months" from "register within 30 days" and "gaskets are covered for 6 months")."""
    words = set(tokenize(sentence))
    for number in set(_NUMBER.findall(sentence)):
        about = words - set(tokenize(number))
        if not any(number in _NUMBER.findall(e) and len(about & set(tokenize(e))) >= 2 for e in evidence):
            return False
    return True


def words_grounded(sentence: str, evidence_tokens: set[str]) -> bool:
    """Every content word (stemmed) of the sentence occurs in the evidence."""
    return set(tokenize(sentence)) <= evidence_tokens


class Verifier:
    """The sources of one answer, embedded once; check() then costs one short embedding per sentence."""

    def __init__(self, sources: list[Source], embedder: Embedder) -> None:
        self.sources = sources
        self._embedder = embedder
        self._evidence = [(src.n, sent) for src in sources for sent in src.sentences]
        self._vecs = embedder.embed([e for _, e in self._evidence]) if self._evidence else np.zeros((0, 1))
        self._sentences = {src.n: src.sentences for src in sources}
        # The prompt shows each source under its heading; a heading echoed back says nothing ("Please Explain
        # What is Dropout in Deep Learning [1]" to "how does dropout work").
        self._headings = {normalise(src.heading).rstrip("?.:") for src in sources}
        self._tokens = {src.n: set(tokenize(" ".join(src.sentences))) for src in sources}

    def score(self, text: str, sims: np.ndarray) -> dict[int, float]:
        per_source: dict[int, float] = {}
        for j, (n, _) in enumerate(self._evidence):
            per_source[n] = max(per_source.get(n, -1.0), float(sims[j]))
        return {
            n: 0.5 * cos + 0.5 * lexical_overlap(text, self._tokens[n])
            if numbers_grounded(text, self._sentences[n]) and words_grounded(text, self._tokens[n])
            else 0.0
            for n, cos in per_source.items()
        }

    def check(self, sentence: str) -> SentenceSupport:
        text = strip_markers(sentence)
        if not self._evidence or not checkable(sentence) or normalise(text).rstrip("?.:") in self._headings:
            return SentenceSupport(text, [], False, 0.0)
        sims = self._vecs @ self._embedder.embed([text])[0]
        scored = self.score(text, sims)
        ranked = sorted(scored, key=lambda n: -scored[n])
        best = scored[ranked[0]]
        supported = best >= SUPPORT_THRESHOLD
        claimed = [n for n in cited_numbers(sentence) if n in scored and scored[n] >= SUPPORT_THRESHOLD]
        support = list(dict.fromkeys([ranked[0], *claimed])) if supported else []
        return SentenceSupport(text, support, supported, best)
