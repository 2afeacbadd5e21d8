"""Check a generated answer sentence by sentence against the sources it was given.

Support = embedding similarity plus lexical overlap with the best source. Sentences nothing supports are
removed; each kept sentence is cited to the source that supports it best.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from corpus.text import split_sentences
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


def _checkable(sentence: str, last: bool) -> bool:
    """Questions echoed from the prompt and a final fragment cut off by the token cap are never evidence."""
    text = strip_markers(sentence)
    if not text or text.endswith("?") or text.endswith(":"):
        return False
    return not (last and text[-1] not in ".!)\"”'")


def numbers_grounded(sentence: str, evidence: str) -> bool:
    """Every number the sentence states occurs in the evidence: small models invent figures fluently."""
    return all(n in evidence for n in _NUMBER.findall(sentence))


def verify(answer: str, sources: list[Source], embedder: Embedder) -> list[SentenceSupport]:
    split = split_sentences(answer)
    sentences = [s for i, s in enumerate(split) if _checkable(s, i == len(split) - 1)]
    if not sentences or not sources:
        return [SentenceSupport(strip_markers(s), [], False, 0.0) for s in sentences]
    plain = [strip_markers(s) for s in sentences]
    evidence = [(src.n, sent) for src in sources for sent in src.sentences]
    vecs = embedder.embed(plain + [e for _, e in evidence])
    answer_vecs, evidence_vecs = vecs[: len(plain)], vecs[len(plain) :]
    sims = answer_vecs @ evidence_vecs.T  # (answer sentences, evidence sentences)
    source_text = {src.n: " ".join(src.sentences) for src in sources}
    source_tokens = {n: set(tokenize(t)) for n, t in source_text.items()}
    out = []
    for i, (raw, text) in enumerate(zip(sentences, plain, strict=True)):
        per_source: dict[int, float] = {}
        for j, (n, _) in enumerate(evidence):
            per_source[n] = max(per_source.get(n, -1.0), float(sims[i, j]))
        scored = {
            n: 0.5 * cos + 0.5 * lexical_overlap(text, source_tokens[n])
            if numbers_grounded(text, source_text[n])
            else 0.0
            for n, cos in per_source.items()
        }
        ranked = sorted(scored, key=lambda n: -scored[n])
        best = scored[ranked[0]]
        supported = best >= SUPPORT_THRESHOLD
        claimed = [n for n in cited_numbers(raw) if n in scored and scored[n] >= SUPPORT_THRESHOLD]
        support = list(dict.fromkeys([ranked[0], *claimed])) if supported else []
        out.append(SentenceSupport(text, support, supported, best))
    return out


def supported_share(checks: list[SentenceSupport]) -> float:
    return float(np.mean([c.supported for c in checks])) if checks else 0.0
