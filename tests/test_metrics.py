"""Metrics against values computed by hand."""

from __future__ import annotations

import math

import pytest

from eval.metrics import (
    AnswerView,
    CitationPrecision,
    FactRecall,
    HitAtK,
    MRRAtK,
    NDCGAtK,
    RecallAtK,
    RelevantCitation,
    fact_present,
    percentile,
)
from eval.runner import answer_view

RANKED = ["a", "b", "c", "d", "e"]


def test_hit_at_k() -> None:
    assert HitAtK(1).compute(RANKED, {"a"}) == 1.0
    assert HitAtK(1).compute(RANKED, {"b"}) == 0.0
    assert HitAtK(3).compute(RANKED, {"c", "z"}) == 1.0
    assert HitAtK(5).compute(RANKED, {"z"}) == 0.0  # no relevant hit


def test_recall_at_k() -> None:
    assert RecallAtK(2).compute(RANKED, {"b", "d"}) == 0.5
    assert RecallAtK(5).compute(RANKED, {"b", "d", "z"}) == pytest.approx(2 / 3)
    assert RecallAtK(5).compute(RANKED, set()) == 0.0


def test_mrr() -> None:
    assert MRRAtK(10).compute(RANKED, {"c", "e"}) == pytest.approx(1 / 3)
    assert MRRAtK(2).compute(RANKED, {"c"}) == 0.0
    assert MRRAtK(10).compute([], {"a"}) == 0.0


def test_ndcg_ideal_from_expected_ids() -> None:
    # Relevant at ranks 2 and 4 of two expected: DCG = 1/log2(3) + 1/log2(5); IDCG = 1 + 1/log2(3).
    got = NDCGAtK(10).compute(RANKED, {"b", "d"})
    assert got == pytest.approx((1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3)))
    # Three expected but only one returned, at rank 1: IDCG counts all three.
    got = NDCGAtK(10).compute(["x", "y"], {"x", "p", "q"})
    assert got == pytest.approx(1 / (1 + 1 / math.log2(3) + 1 / math.log2(4)))
    assert NDCGAtK(10).compute(RANKED, {"a"}) == 1.0
    assert NDCGAtK(10).compute(RANKED, {"z"}) == 0.0


def test_ties_between_passages_of_one_section_count_once() -> None:
    # Two passages of section "a" tie at the top: "b" is the second section, not the third.
    ranked = ["a", "a", "b"]
    assert MRRAtK(10).compute(ranked, {"b"}) == 0.5
    assert HitAtK(2).compute(ranked, {"b"}) == 1.0
    assert NDCGAtK(10).compute(ranked, {"a", "b"}) == 1.0


def test_fact_present_needs_most_content_words() -> None:
    assert fact_present("quadratic in the length", "Attention cost is quadratic in sequence length [1].")
    assert not fact_present("quadratic in the length of input", "The cost grows with length.")
    assert fact_present("Bloom filters", "xor filters beat bloom filter lookups")  # stemmed


def test_answer_metrics() -> None:
    view = AnswerView(
        text="Use focal loss [1]. It down-weights easy examples [2].", cited=["f", "g"], dangling=0, refused=False
    )
    assert CitationPrecision().compute(view, {"f"}) == 0.5
    assert RelevantCitation().compute(view, {"g"}) == 1.0
    assert FactRecall().compute(view, ["down-weights easy examples", "gamma focusing parameter"]) == 0.5
    assert CitationPrecision().compute(AnswerView("", [], 0, True), {"f"}) is None


def test_dangling_markers_counted_from_the_answer_json() -> None:
    view = answer_view({"answer": "A [1] and B [3].", "citations": [{"n": 1, "section_id": "s"}], "refused": False})
    assert view.dangling == 1 and view.cited == ["s"]


def test_percentile_matches_linear_interpolation() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10, 20, 30, 40, 50], 95) == pytest.approx(48.0)
    assert math.isnan(percentile([], 50))
