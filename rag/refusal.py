"""Whether the collection answers a question: a small additive model over signals that each say "covered" in
their own way, fitted on the tune splits of the dev set and of the bundled users' collections (`python -m
eval.calibrate`; one monotone step function per signal lives in refusal.json beside this file, so every signal's
part in a verdict can be read and explained).

Signals: the best evidence sentence's match (embedding + question words), its embedding similarity alone, the
share of the question's content words found in the best section and anywhere in the collection, whether dense and
BM25 retrieval agree on the top section, the top dense and BM25 scores, how many question words are unknown
both to the collection and to ordinary English, and whether the question names something (as typed: "Thompson
sampling", "the Lion optimizer", "YaRN") that the collection never mentions.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.lexical import share, tokenize, typed_words
from index.spelling import english_rarity, notable
from rag.evidence import Evidence

MODEL_FILE = Path(__file__).resolve().parent / "refusal.json"
FEATURES = (
    "evidence",
    "similarity",
    "section_coverage",
    "collection_coverage",
    "agreement",
    "dense_top",
    "bm25_top",
    "rare_unknown",
    "unknown_name",
)
# A question word the collection never uses is a strong tell only when it is also rare in ordinary English (a name:
# "Nesterov", "RetinaNet", "FedAvg"); a common one ("sitting", "alike") is just phrasing. English rarity (-log10
# of its share, index.spelling.english_rarity) from 5.5 up counts; chosen on the tune split by cross-validation
# (eval/results/answers/README.md), 5.0-7.0 all help.
RARE = 5.5
# What a strongly negative part of the verdict means, in the user's words (several signals say the same thing).
_CLOSE = "nothing in the documents is close to it in meaning"
_ABSENT = "some of its words appear nowhere in the documents"
REASONS = {
    "evidence": _CLOSE,
    "similarity": _CLOSE,
    "dense_top": _CLOSE,
    "section_coverage": "the nearest section lacks some of its words",
    "collection_coverage": _ABSENT,
    "rare_unknown": _ABSENT,
    "agreement": "the keyword and the meaning searches disagree on where it is answered",
    "bm25_top": "few passages share its words",
    "unknown_name": "it names something the documents never mention",
}
_SENTENCE_END = re.compile(r"(?<=\w\w[.!?])\s+")  # not after "e.g." or "i.e."


@dataclass
class Signals:
    evidence: float
    similarity: float
    section_coverage: float
    collection_coverage: float
    agreement: float
    dense_top: float
    bm25_top: float
    rare_unknown: float  # how many question words neither the collection nor ordinary English uses
    unknown_name: float  # 1 when a word typed as a name (names() below) is one the collection never uses
    # Not a feature: the question's words the collection never uses, as typed, but for common English ones; a
    # refusal names them, so the user knows what to rephrase or which document to add.
    unknown: list[str] = field(default_factory=list)

    def vector(self) -> list[float]:
        return [getattr(self, f) for f in FEATURES]

    def to_json(self) -> dict[str, float]:
        return {f: round(getattr(self, f), 4) for f in FEATURES}


def signals(
    question: str,
    evidence: Evidence,
    section_text: str,
    collection_coverage: float,
    dense: tuple[str, float],
    bm25: tuple[str, float],
    unknown_words: list[str],
) -> Signals:
    """`dense`, `bm25`: each retriever's top section and its score (BM25 per question word, so length-free);
    `unknown_words`: the question's words the collection never uses (LexicalIndex.unknown_words)."""
    words = set(tokenize(question))
    have = set(tokenize(section_text))
    return Signals(
        evidence=evidence.best,
        similarity=max((s.similarity for s in evidence.sentences), default=0.0),
        section_coverage=share(words, have),
        collection_coverage=collection_coverage,
        agreement=float(dense[0] == bm25[0] and bool(dense[0])),
        dense_top=dense[1],
        bm25_top=bm25[1] / max(len(words), 1),
        rare_unknown=float(sum(english_rarity(w) >= RARE for w in unknown_words)),
        unknown_name=float(bool(names(question) & set(unknown_words))),
        unknown=notable(unknown_words),
    )


def names(question: str) -> set[str]:
    """The question's words typed as names: a capital inside the word ("YaRN", "InfoNCE", "GPTQ") or a capital first
    letter past a sentence's first word ("Thompson", "Lion"). Unlike rare_unknown this catches names that are
    common English words; a sentence's first word is skipped because every sentence starts with a capital."""
    out = set()
    for sentence in _SENTENCE_END.split(question):
        for n, word in enumerate(typed_words(sentence)):  # as LexicalIndex.unknown_words reads them
            if any(c.isupper() for c in word[1:]) or (n > 0 and word[0].isupper()):
                out.add(word)
    return out


@dataclass
class RefusalModel:
    """P(the collection answers) = sigmoid(base + the sum of one step function per signal): an additive model, so
    each signal's part of the verdict can be read on its own (contributions()) and each step function in
    refusal.json. The steps are monotone: more evidence or coverage never lowers the probability, another unknown
    name never raises it. The refusal threshold is folded into `base`; refuse below 0.5."""

    base: float
    # signal -> (thresholds, values): the value added is values[i] for the i-th interval, where i is how many
    # thresholds lie strictly below the signal (the fitted trees send a value equal to a threshold left).
    steps: dict[str, tuple[list[float], list[float]]]

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> RefusalModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        if "steps" not in data:
            raise ValueError(f"{path}: a refusal model of an older kind; refit it: python -m eval.calibrate --write")
        return cls.from_json(data)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RefusalModel:
        steps = {f: (step["thresholds"], step["values"]) for f, step in data["steps"].items()}
        if list(steps) != list(FEATURES) or data.get("features") != list(FEATURES):
            raise ValueError(f"refusal model fitted on {list(steps)}, expected {list(FEATURES)}")
        if any(len(v) != len(t) + 1 or t != sorted(t) for t, v in steps.values()):
            raise ValueError("refusal model: each step function needs sorted thresholds and one value more")
        return cls(data["base"], steps)

    def contributions(self, s: Signals) -> dict[str, float]:
        """Each signal's part of the log-odds that the collection answers (positive: "covered")."""
        out = {}
        for name, (thresholds, values) in self.steps.items():
            out[name] = values[bisect.bisect_left(thresholds, getattr(s, name))]
        return out

    def log_odds(self, parts: dict[str, float]) -> float:
        """The log-odds that the collection answers, from contributions(): the base and every signal's part."""
        return self.base + sum(parts.values())

    def probability(self, parts: dict[str, float]) -> float:
        """P(the collection answers), from contributions()."""
        return 1.0 / (1.0 + math.exp(-self.log_odds(parts)))


def reasons(contributions: dict[str, float], below: float = -0.5) -> list[str]:
    """Why the model doubts the collection answers a question: the signals that pulled the verdict down most
    (log-odds under `below` against a typical question), strongest first, each said once."""
    worst = sorted((v, f) for f, v in contributions.items() if v < below)
    return list(dict.fromkeys(REASONS[f] for _, f in worst))
