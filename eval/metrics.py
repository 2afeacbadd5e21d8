"""Evaluation metrics, one small class per metric, computed on section ids (LlamaIndex style).

Retrieval metrics take the ranked ids a system returned and the set of expected ids. Answer metrics take an
AnswerView: what an answer cited, said and whether it refused. None of them needs a model: they are offline and
deterministic.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from corpus.text import split_sentences
from index.lexical import stem_all, tokenize


def _dedupe(ids: Sequence[str]) -> list[str]:
    """Several passages of one section can tie for a rank; a section counts once, at its first rank."""
    seen: set[str] = set()
    return [i for i in ids if not (i in seen or seen.add(i))]  # type: ignore[func-returns-value]


@dataclass(frozen=True)
class HitAtK:
    k: int

    @property
    def name(self) -> str:
        return f"hit@{self.k}"

    def compute(self, retrieved: Sequence[str], expected: set[str]) -> float:
        return float(any(i in expected for i in _dedupe(retrieved)[: self.k]))


@dataclass(frozen=True)
class RecallAtK:
    k: int

    @property
    def name(self) -> str:
        return f"recall@{self.k}"

    def compute(self, retrieved: Sequence[str], expected: set[str]) -> float:
        if not expected:
            return 0.0
        return len(set(_dedupe(retrieved)[: self.k]) & expected) / len(expected)


@dataclass(frozen=True)
class MRRAtK:
    k: int = 10

    @property
    def name(self) -> str:
        return f"mrr@{self.k}"

    def compute(self, retrieved: Sequence[str], expected: set[str]) -> float:
        for rank, i in enumerate(_dedupe(retrieved)[: self.k], start=1):
            if i in expected:
                return 1.0 / rank
        return 0.0


@dataclass(frozen=True)
class NDCGAtK:
    """Binary relevance; the ideal DCG puts all expected ids first (so a system that cannot return them all
    is penalised for what it missed)."""

    k: int = 10

    @property
    def name(self) -> str:
        return f"ndcg@{self.k}"

    def compute(self, retrieved: Sequence[str], expected: set[str]) -> float:
        if not expected:
            return 0.0
        dcg = sum(
            1.0 / math.log2(rank + 1) for rank, i in enumerate(_dedupe(retrieved)[: self.k], start=1) if i in expected
        )
        ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(expected), self.k) + 1))
        return dcg / ideal


RetrievalMetric = HitAtK | RecallAtK | MRRAtK | NDCGAtK


def retrieval_metrics(k: int = 5) -> list[RetrievalMetric]:
    return [HitAtK(1), HitAtK(k), RecallAtK(k), MRRAtK(10), NDCGAtK(10)]


# ---- answers ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AnswerView:
    """What the answer metrics look at, taken from `askdoc ask --json` output."""

    text: str
    cited: list[str]  # section ids of the citations the answer kept
    dangling: int  # citation markers in the shown text that point to no source
    refused: bool
    # Each answer sentence with the text of the sources it cites (their quoted snippets), for faithfulness.
    sentences: tuple[tuple[str, str], ...] = ()


def _content_words(text: str) -> list[str]:
    return tokenize(re.sub(r"\[\d+\]", " ", text))


def fact_present(fact: str, answer: str) -> bool:
    """A fact counts when most (over half) of its content words appear in the answer (stemmed)."""
    words = _content_words(fact)
    if not words:
        return fact.lower() in answer.lower()
    have = set(_content_words(answer))
    return sum(w in have for w in words) / len(words) > 0.5


class CitationPrecision:
    name = "citation_precision"

    def compute(self, answer: AnswerView, expected: set[str]) -> float | None:
        if not answer.cited:
            return None  # undefined, left out of the mean
        return sum(c in expected for c in answer.cited) / len(answer.cited)


class RelevantCitation:
    name = "relevant_citation"

    def compute(self, answer: AnswerView, expected: set[str]) -> float:
        return float(any(c in expected for c in answer.cited))


class FactRecall:
    name = "fact_recall"

    def compute(self, answer: AnswerView, facts: Sequence[str]) -> float | None:
        if not facts:
            return None
        return sum(fact_present(f, answer.text) for f in facts) / len(facts)


class DanglingCitations:
    name = "dangling_citations"

    def compute(self, answer: AnswerView) -> float:
        return float(answer.dangling)


class Refused:
    """Did askdoc refuse? On unanswerable questions its mean is the refusal accuracy, on answerable ones the
    false-refusal rate."""

    name = "refused"

    def compute(self, answer: AnswerView) -> float:
        return float(answer.refused)


# ---- faithfulness: how much of an answer its cited sources say ----------------------------------------------
class SupportedWords:
    """Share of the answer's content words (stemmed) that occur in the sources each sentence cites."""

    name = "supported_words"

    def compute(self, answer: AnswerView) -> float | None:
        pairs = [(_content_words(text), set(_content_words(evidence))) for text, evidence in answer.sentences]
        total = sum(len(words) for words, _ in pairs)
        if not total:
            return None
        return sum(w in have for words, have in pairs for w in words) / total


class SupportedSentences:
    """Share of answer sentences whose every content word and number occurs in the sources they cite."""

    name = "supported_sentences"

    def compute(self, answer: AnswerView) -> float | None:
        if not answer.sentences:
            return None
        ok = [set(_content_words(text)) <= set(_content_words(evidence)) for text, evidence in answer.sentences]
        return sum(ok) / len(ok)


def _probe_words(text: str) -> set[str]:
    """Every word, stemmed, negations and numbers included: a probe's edit may be a single "not" or digit."""
    return stem_all(re.sub(r"\[\d+\]", " ", text))


@dataclass(frozen=True)
class Probe:
    """A statement that distorts the source (inverted direction, swapped entity, wrong number) and the true one."""

    claim: str
    true: str
    kind: str = ""


def asserts(sentence: str, probe: Probe) -> bool:
    """A sentence asserts a probe's claim when it states most of the claim, including every word the distortion
    added, and none of the words the distortion removed from the true statement."""
    claim, true, said = _probe_words(probe.claim), _probe_words(probe.true), _probe_words(sentence)
    added, removed = claim - true, true - claim
    content = set(_content_words(probe.claim))
    if not added or not content:
        return False
    overlap = len(content & set(_content_words(sentence))) / len(content)
    return overlap >= 0.6 and added <= said and not (removed & said)


class ProbeAssertions:
    """Number of answer sentences that assert one of the question's contradiction probes (should be 0)."""

    name = "probe_assertions"

    def compute(self, answer: AnswerView, probes: Sequence[Probe]) -> float | None:
        if not probes:
            return None
        sentences = [text for text, _ in answer.sentences] or split_sentences(answer.text)
        return float(sum(any(asserts(s, p) for p in probes) for s in sentences))


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), q in [0, 100]."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
