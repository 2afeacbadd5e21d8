"""Evaluation question sets: JSONL, one {"question", "relevant", "facts", "answerable"} object per line.

`relevant` may hold section ids or exact headings; a heading that occurs twice in the corpus stands for every
section that carries it. Optional fields: `kind` (paraphrase / detail / unanswerable) and `split` (tune / test:
tune is what choices may be tuned on, test is only ever reported).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from corpus.errors import InvalidInputError
from corpus.model import Section
from corpus.text import normalise
from eval.metrics import Probe

DEFAULT_QUERIES = Path(__file__).resolve().parent / "data" / "dev.jsonl"
DEFAULT_PROBES = Path(__file__).resolve().parent / "data" / "probes.jsonl"


@dataclass
class EvalQuestion:
    question: str
    relevant: list[str]
    facts: list[str] = field(default_factory=list)
    answerable: bool = True
    kind: str = ""
    split: str = ""
    expected: set[str] = field(default_factory=set)  # resolved section ids


def load_questions(path: Path) -> list[EvalQuestion]:
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such query file")
    out: list[EvalQuestion] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            q = EvalQuestion(
                question=str(row["question"]),
                relevant=list(row.get("relevant", [])),
                facts=list(row.get("facts", [])),
                answerable=bool(row.get("answerable", bool(row.get("relevant")))),
                kind=str(row.get("kind", "")),
                split=str(row.get("split", "")),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInputError(f"{path}:{n}: not a valid question object ({exc})") from None
        out.append(q)
    if not out:
        raise InvalidInputError(f"{path}: no questions")
    return out


def resolve(questions: list[EvalQuestion], sections: dict[str, Section]) -> list[str]:
    """Fill `expected` with section ids; return the problems found (unknown ids/headings)."""
    by_heading: dict[str, set[str]] = {}
    for s in sections.values():
        by_heading.setdefault(s.heading, set()).add(s.id)
    problems = []
    for q in questions:
        q.expected = set()
        for ref in q.relevant:
            if ref in sections:
                q.expected.add(ref)
            elif ref in by_heading:
                q.expected |= by_heading[ref]
            else:
                problems.append(f"{q.question!r}: unknown section {ref!r}")
        if q.answerable and not q.relevant:
            problems.append(f"{q.question!r}: answerable but lists no relevant section")
        if not q.answerable and q.relevant:
            problems.append(f"{q.question!r}: unanswerable but lists relevant sections")
    return problems


def validate(questions: list[EvalQuestion], sections: dict[str, Section]) -> list[str]:
    """Every relevant reference exists and every fact occurs in the text of a relevant section."""
    problems = resolve(questions, sections)
    seen: set[str] = set()
    for q in questions:
        if q.question in seen:
            problems.append(f"{q.question!r}: duplicate question")
        seen.add(q.question)
        texts = [normalise(sections[i].text) for i in q.expected]
        for fact in q.facts:
            if not any(normalise(fact) in t for t in texts):
                problems.append(f"{q.question!r}: fact {fact!r} is in no relevant section")
    return problems


def load_probes(path: Path) -> dict[str, list[Probe]]:
    """Contradiction probes by question: statements that distort the guide the way a small model does."""
    out: dict[str, list[Probe]] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out[row["question"]] = [Probe(p["claim"], p["true"], p.get("kind", "")) for p in row["probes"]]
        except (ValueError, KeyError, TypeError) as e:
            raise InvalidInputError(f"{path}:{n}: not a probe record ({e})") from None
    return out
