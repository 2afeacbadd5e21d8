"""Quality floors: retrieval on the dev set's held-out test split must not fall below a little under today's
figures (eval/results/README.md). Retrieval only: it takes seconds. Answer-quality figures live in the eval report
and the benchmarks, not in tests."""

from __future__ import annotations

import pytest

from eval.dataset import DEFAULT_QUERIES, load_questions, resolve
from eval.runner import run_retrieval
from rag.retrieve import Retriever

# hit@1, MRR@10 on the test split; today: hybrid 0.886 / 0.935, dense 0.854 / 0.906, bm25 0.837 / 0.884.
FLOORS = {"hybrid": (0.87, 0.92), "dense": (0.83, 0.89), "bm25": (0.81, 0.87)}


@pytest.mark.parametrize("mode", list(FLOORS))
def test_retrieval_stays_above_its_floor(retriever: Retriever, mode: str) -> None:
    questions = [q for q in load_questions(DEFAULT_QUERIES) if q.split == "test"]
    assert resolve(questions, retriever.index.sections) == []
    (report,) = run_retrieval(retriever, questions, [mode], progress=False)
    summary = report.summary()
    hit1, mrr = FLOORS[mode]
    assert summary["hit@1"] >= hit1 and summary["mrr@10"] >= mrr, summary
