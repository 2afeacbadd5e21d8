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


def jsonl_lines(path: Path, what: str) -> list[tuple[int, str]]:
    """The non-blank lines of a JSONL file with their numbers; a missing, unreadable or non-UTF-8 file is an
    InvalidInputError that names it (`what`: "query", "conversation" ...)."""
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such {what} file" + (" (it is a folder)" if path.is_dir() else ""))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise InvalidInputError(f"{path}: cannot be read ({exc.strerror})") from None
    return [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]


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
    out: list[EvalQuestion] = []
    for n, line in jsonl_lines(path, "query"):
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
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidInputError(f"{path}:{n}: not a valid question object ({exc})") from None
        if problem := _field_problem(row):
            raise InvalidInputError(f"{path}:{n}: {problem}")
        out.append(q)
    if not out:
        raise InvalidInputError(f"{path}: no questions")
    return out


def _field_problem(row: dict) -> str:
    """What is wrong with a question object's fields (a string where a list belongs would be read letter by
    letter, "false" as true), or ""."""
    if not isinstance(row.get("question"), str) or not row["question"].strip():
        return "question must be a non-empty string"
    for name in ("relevant", "facts"):
        if not isinstance(row.get(name, []), list) or not all(isinstance(v, str) for v in row.get(name, [])):
            return f"{name} must be a list of strings"
    if not isinstance(row.get("answerable", True), bool):
        return "answerable must be true or false"
    return ""


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
    for n, line in jsonl_lines(path, "probe"):
        try:
            row = json.loads(line)
            out[row["question"]] = [Probe(p["claim"], p["true"], p.get("kind", "")) for p in row["probes"]]
        except (ValueError, KeyError, TypeError) as e:
            raise InvalidInputError(f"{path}:{n}: not a probe record ({e})") from None
    return out
