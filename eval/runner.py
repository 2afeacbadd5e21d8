"""Run a question set through each retrieval mode (and optionally the answer pipeline) and score it."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from statistics import mean
from typing import Any, Protocol

from tqdm.auto import tqdm

from eval.dataset import EvalQuestion
from eval.metrics import (
    AnswerView,
    CitationPrecision,
    DanglingCitations,
    FactRecall,
    Probe,
    ProbeAssertions,
    Refused,
    RelevantCitation,
    SupportedSentences,
    SupportedWords,
    percentile,
    retrieval_metrics,
)
from eval.uncertainty import interval, paired_difference

DEPTH = 10  # MRR@10 and nDCG@10 need ten ranked sections


class Searcher(Protocol):
    def search(self, question: str, k: int | None = None, mode: str | None = None) -> Any: ...


Answerer = Callable[[str], dict[str, Any]]  # question -> `askdoc ask --json` object


@dataclass
class QuestionResult:
    question: str
    kind: str
    split: str
    expected: list[str]
    retrieved: list[str]
    scores: dict[str, float]
    timings: dict[str, float]


@dataclass
class ModeReport:
    mode: str
    results: list[QuestionResult] = field(default_factory=list)
    notice: str = ""  # why the searches were served by another mode (rerank without a reranker), when they were

    def summary(self, rows: Iterable[QuestionResult] | None = None) -> dict[str, float]:
        rows = list(self.results if rows is None else rows)
        names = list(rows[0].scores) if rows else []
        return {n: mean(r.scores[n] for r in rows) for n in names} | {"n": float(len(rows))}

    def by(self, attribute: str) -> dict[str, dict[str, float]]:
        return {g: self.summary(rows) for g, rows in self._groups(attribute).items()}

    def intervals(self, rows: Iterable[QuestionResult] | None = None) -> dict[str, tuple[float, float]]:
        """Each metric's 95 % bootstrap interval over these questions (eval/uncertainty.py)."""
        rows = list(self.results if rows is None else rows)
        names = list(rows[0].scores) if rows else []
        return {n: interval([r.scores[n] for r in rows]) for n in names}

    def intervals_by(self, attribute: str) -> dict[str, dict[str, tuple[float, float]]]:
        return {g: self.intervals(rows) for g, rows in self._groups(attribute).items()}

    def _groups(self, attribute: str) -> dict[str, list[QuestionResult]]:
        groups: dict[str, list[QuestionResult]] = defaultdict(list)
        for r in self.results:
            groups[getattr(r, attribute) or "-"].append(r)
        return dict(sorted(groups.items()))

    def latency(self) -> dict[str, dict[str, float]]:
        return _latency(r.timings for r in self.results)


def compare(a: ModeReport, b: ModeReport, metrics: Iterable[str]) -> list[dict[str, Any]]:
    """a - b on the same questions, per metric, over all of them and per kind, each with its paired interval."""
    if [r.question for r in a.results] != [r.question for r in b.results]:
        raise ValueError(f"modes {a.mode} and {b.mode} were not run on the same questions")
    kinds = sorted({r.kind or "-" for r in a.results})  # grouped as by() groups them
    out = []
    for group in ["all", *kinds] if len(kinds) > 1 else ["all"]:
        pairs = [(x, y) for x, y in zip(a.results, b.results, strict=True) if group in ("all", x.kind or "-")]
        for m in metrics:
            diff, low, high = paired_difference([x.scores[m] for x, _ in pairs], [y.scores[m] for _, y in pairs])
            out.append({"a": a.mode, "b": b.mode, "group": group, "metric": m, "difference": diff, "ci95": [low, high]})
    return out


def _latency(timings: Iterable[dict[str, float]]) -> dict[str, dict[str, float]]:
    stages: dict[str, list[float]] = defaultdict(list)
    for t in timings:
        for stage, ms in t.items():
            stages[stage].append(ms)
    return {s: {"p50": percentile(v, 50), "p95": percentile(v, 95)} for s, v in stages.items()}


def run_retrieval(
    searcher: Searcher, questions: list[EvalQuestion], modes: list[str], k: int = 5, progress: bool = True
) -> list[ModeReport]:
    """Retrieval metrics on the answerable questions, per mode, on the same questions."""
    metrics = retrieval_metrics(k)
    answerable = [q for q in questions if q.answerable]
    reports = []
    bar = tqdm(total=len(answerable) * len(modes), desc="Evaluating retrieval", unit="q", disable=not progress)
    for mode in modes:
        report = ModeReport(mode)
        warm = searcher.search(answerable[0].question, k=DEPTH, mode=mode)  # keeps load time out of latency
        report.notice = warm.notice or (f"served by mode {warm.mode}" if warm.mode != mode else "")
        for q in answerable:
            result = searcher.search(q.question, k=DEPTH, mode=mode)
            ids = [h.section_id for h in result.hits]
            report.results.append(
                QuestionResult(
                    question=q.question,
                    kind=q.kind,
                    split=q.split,
                    expected=sorted(q.expected),
                    retrieved=ids,
                    scores={m.name: m.compute(ids, q.expected) for m in metrics},
                    timings=dict(result.timings),
                )
            )
            bar.update()
        reports.append(report)
    bar.close()
    return reports


# Each answer measure: the row value it averages and the rows it averages over.
ANSWER_MEANS = {
    "citation_precision": ("citation_precision", "answered"),
    "relevant_citation": ("relevant_citation", "answered"),
    "fact_recall": ("fact_recall", "answered"),
    "dangling_citations": ("dangling_citations", "all"),
    "refusal_accuracy": ("refused", "unanswerable"),
    "false_refusal": ("refused", "answerable"),
    "generated_share": ("generated", "answered"),
    "supported_words": ("supported_words", "answered"),
    "supported_sentences": ("supported_sentences", "answered"),
}
_OVER: dict[str, Callable[[dict[str, Any]], bool]] = {
    "all": lambda r: True,
    "answerable": lambda r: bool(r["answerable"]),
    "unanswerable": lambda r: not r["answerable"],
    "answered": lambda r: bool(r["answerable"] and not r["refused"]),
}


@dataclass
class AnswerReport:
    name: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    def values(self, measure: str) -> list[float]:
        """The per-question values behind a measure (a question where it is undefined is left out)."""
        key, over = ANSWER_MEANS[measure]
        return [r[key] for r in self.rows if _OVER[over](r) and r.get(key) is not None]

    def summary(self) -> dict[str, float]:
        means = {m: mean(v) if (v := self.values(m)) else float("nan") for m in ANSWER_MEANS}
        return means | {
            "probe_assertions": sum(r["probe_assertions"] or 0 for r in self.rows),
            "probed": float(sum(r["probe_assertions"] is not None for r in self.rows)),
            "n": float(len(self.rows)),
        }

    def intervals(self) -> dict[str, tuple[float, float]]:
        """Each measure's 95 % bootstrap interval over the questions it averages (eval/uncertainty.py)."""
        return {m: interval(self.values(m)) for m in ANSWER_MEANS}

    def latency(self) -> dict[str, dict[str, float]]:
        return _latency(r["timings"] for r in self.rows)


def answer_view(response: dict[str, Any]) -> AnswerView:
    citations = response.get("citations", [])
    shown = {str(c["n"]) for c in citations}
    snippet = {c["n"]: c.get("snippet", "") for c in citations}
    markers = re.findall(r"\[(\d+)\]", response.get("answer", ""))
    sentences = tuple(
        (s["text"], " ".join(snippet.get(n, "") for n in s["sources"]))
        for s in response.get("sentences", [])
        if s.get("supported")
    )
    return AnswerView(
        text=response.get("answer", ""),
        cited=[c["section_id"] for c in citations],
        dangling=sum(m not in shown for m in markers),
        refused=bool(response.get("refused")),
        sentences=sentences if not response.get("refused") else (),
    )


def run_answers(
    answer: Answerer,
    questions: list[EvalQuestion],
    name: str,
    probes: dict[str, list[Probe]] | None = None,
    progress: bool = True,
) -> AnswerReport:
    """`probes`: contradiction probes by question; an answer sentence that asserts one is counted."""
    report = AnswerReport(name)
    probes = probes or {}
    for q in tqdm(questions, desc=f"Evaluating answers ({name})", unit="q", disable=not progress):
        response = answer(q.question)
        view = answer_view(response)
        probed = q.question in probes
        report.rows.append(
            {
                "question": q.question,
                "kind": q.kind,
                "split": q.split,
                "answerable": q.answerable,
                "refused": float(Refused().compute(view)),
                "generated": float(response.get("mode") == "generated"),
                "citation_precision": CitationPrecision().compute(view, q.expected),
                "relevant_citation": RelevantCitation().compute(view, q.expected),
                "fact_recall": FactRecall().compute(view, q.facts),
                "dangling_citations": DanglingCitations().compute(view),
                "supported_words": SupportedWords().compute(view),
                "supported_sentences": SupportedSentences().compute(view),
                "probe_assertions": ProbeAssertions().compute(view, probes[q.question]) if probed else None,
                "timings": {k: float(v) for k, v in response.get("timings", {}).items()},
                "answer": view.text,
                "cited": view.cited,
            }
        )
    return report


def worst(report: ModeReport, n: int = 5) -> list[QuestionResult]:
    """The questions a mode did worst on: lowest reciprocal rank, then lowest nDCG (none it ranked perfectly)."""
    missed = [r for r in report.results if min(r.scores["mrr@10"], r.scores["ndcg@10"]) < 1]
    return sorted(missed, key=lambda r: (r.scores["mrr@10"], r.scores["ndcg@10"]))[:n]
