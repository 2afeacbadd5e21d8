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
    Probe,
    ProbeAssertions,
    RecallAtK,
    Refused,
    RelevantCitation,
    SupportedSentences,
    SupportedWords,
    asserts,
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


def test_faithfulness_measures_on_hand_computed_cases() -> None:
    evidence = "Focal loss reduces the loss contribution from easy examples."
    view = AnswerView(
        "Focal loss reduces easy examples [1]. Focal loss boosts majority classes [1].",
        ["f"],
        0,
        False,
        sentences=(("Focal loss reduces easy examples", evidence), ("Focal loss boosts majority classes", evidence)),
    )
    # content words: focal loss reduc easi exampl | focal loss boost major class -> 5 + 2 of 10 found
    assert SupportedWords().compute(view) == pytest.approx(0.7)
    assert SupportedSentences().compute(view) == 0.5
    assert SupportedWords().compute(AnswerView("", [], 0, True)) is None


def test_probe_assertion_needs_the_distortion_and_not_the_truth() -> None:
    probe = Probe(
        claim="Focal loss increases the loss contribution from easy examples.",
        true="Focal loss reduces the loss contribution from easy examples.",
    )
    assert asserts("In short, focal loss increases the loss contribution from easy examples [1].", probe)
    assert not asserts("Focal loss reduces the loss contribution from easy examples [1].", probe)
    assert not asserts("Focal loss increases accuracy.", probe)  # the distortion's word, but not the claim
    number = Probe(claim="A 7B model needs 7 GB in 4-bit.", true="A 7B model needs 3.5 GB in 4-bit.")
    assert asserts("In 4-bit a 7B model needs 7 GB.", number) and not asserts("It needs 3.5 GB in 4-bit.", number)
    view = AnswerView("x", ["f"], 0, False, sentences=(("Focal loss increases the loss from easy examples", ""),))
    assert ProbeAssertions().compute(view, [probe]) == 1.0
    assert ProbeAssertions().compute(view, []) is None


def test_refused_metric_and_answer_view_sentences() -> None:
    response = {
        "answer": "A [1].",
        "citations": [{"n": 1, "section_id": "s", "snippet": "A b."}],
        "sentences": [{"text": "A", "sources": [1], "supported": True}],
        "refused": False,
    }
    view = answer_view(response)
    assert view.sentences == (("A", "A b."),) and Refused().compute(view) == 0.0
    assert Refused().compute(answer_view({"answer": "", "refused": True})) == 1.0
