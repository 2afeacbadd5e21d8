from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from cli.main import main
from corpus.errors import InvalidInputError
from eval.dataset import DEFAULT_QUERIES, load_questions, validate
from rag.retrieve import Retriever


def test_dev_set_is_valid_and_large_enough(retriever: Retriever) -> None:
    questions = load_questions(DEFAULT_QUERIES)
    assert validate(questions, retriever.index.sections) == []
    kinds = Counter(q.kind for q in questions)
    assert len(questions) >= 150 and min(kinds[k] for k in ("paraphrase", "detail", "unanswerable")) >= 30
    splits = Counter((q.kind, q.split) for q in questions)
    for kind in kinds:  # both halves of every kind are populated: tune on one, report the other
        assert splits[(kind, "tune")] >= 15 and splits[(kind, "test")] >= 15


def test_validator_catches_bad_rows(retriever: Retriever, tmp_path: Path) -> None:
    rows = [
        {"question": "q1", "relevant": ["No Such Heading?"], "facts": [], "answerable": True},
        {"question": "q2", "relevant": ["What is Redis?"], "facts": ["quantum teleportation"], "answerable": True},
        {"question": "q3", "relevant": ["what-is-redis"], "facts": [], "answerable": False},
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    problems = validate(load_questions(path), retriever.index.sections)
    assert len(problems) == 3
    assert "unknown section" in problems[0] and "unanswerable but lists" in problems[1]
    assert "quantum teleportation" in problems[2]


def test_duplicate_heading_resolves_to_both_sections(retriever: Retriever, tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"question": "entropy?", "relevant": ["What is Entropy in Information Theory?"]}))
    (q,) = load_questions(path)
    assert validate([q], retriever.index.sections) == []
    assert q.expected == {"what-is-entropy-in-information-theory", "what-is-entropy-in-information-theory-2"}


def test_malformed_query_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "ok", "relevant": []}\nnot json\n')
    with pytest.raises(InvalidInputError, match=r"q\.jsonl:2"):
        load_questions(path)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b'{"question": "q", "relevant": "abc"}', "q.jsonl:1: relevant must be a list of strings"),  # was 'a', 'b'...
        (b'{"question": "q", "relevant": ["x"], "answerable": "false"}', "answerable must be true or false"),
        (b'{"question": "  ", "relevant": ["x"]}', "q.jsonl:1: question must be a non-empty string"),
        (b'\xff{"question": "q"}', "q.jsonl: not UTF-8 text (byte 0)"),  # was a UnicodeDecodeError traceback
    ],
)
def test_a_question_file_with_wrong_fields_is_a_clear_error(tmp_path: Path, content: bytes, says: str) -> None:
    path = tmp_path / "q.jsonl"
    path.write_bytes(content + b"\n")
    with pytest.raises(InvalidInputError, match=re.escape(says)):
        load_questions(path)


def test_eval_checks_its_arguments_before_it_runs(index_dir: Path, tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def no_run(*_: object, **__: object) -> None:
        raise AssertionError("the evaluation ran before its arguments were checked")

    monkeypatch.setattr("eval.harness.Retriever", no_run)
    afile = tmp_path / "afile"
    afile.write_text("")
    for out, says in ((afile, "is a file, not a folder"), (afile / "sub", "cannot make the folder")):
        assert main(["eval", "--out", str(out), "--index-dir", str(index_dir)]) == 2
        assert says in capsys.readouterr().err  # said before a question is asked: no traceback after the run
    for k in ("0", "11"):  # each search returns ten sections: hit@50 would be hit@10
        with pytest.raises(SystemExit):
            main(["eval", "--k", k, "--index-dir", str(index_dir)])
        assert f"{k} is not between 1 and 10" in capsys.readouterr().err


def test_askdoc_eval_end_to_end(retriever: Retriever, index_dir: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    rows = [
        {
            "question": "how do xor filters compare with bloom filters",
            "relevant": ["how-are-xor-filters-used-what-if-you-require-better-performance"],
            "kind": "detail",
        },
        {"question": "what is redis used for", "relevant": ["What is Redis?"], "kind": "paraphrase"},
        {"question": "what is the capital of peru", "relevant": [], "answerable": False, "kind": "unanswerable"},
    ]
    queries = tmp_path / "q.jsonl"
    queries.write_text("\n".join(json.dumps(r) for r in rows))
    out = tmp_path / "report"
    args = ["--queries", str(queries), "--modes", "bm25,hybrid,rerank", "--out", str(out), "--k", "3"]
    code = main(["eval", *args, "--index-dir", str(index_dir)])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert set(report["retrieval"]) == {"bm25", "hybrid", "rerank"} and report["k"] == 3
    assert report["collection"] == "default"
    hybrid = report["retrieval"]["hybrid"]
    assert hybrid["overall"]["n"] == 2 and hybrid["overall"]["hit@3"] == 1.0
    assert set(hybrid["by_kind"]) == {"detail", "paraphrase"}
    assert hybrid["latency_ms"]["total"]["p50"] > 0
    md = (out / "report.md").read_text()
    assert "| mode | hit@1 | hit@3 | recall@3 | mrr@10 | ndcg@10 | n |" in md and "| hybrid |" in md
    # No reranker is trained for the session index: the rerank row says it was served by hybrid.
    assert "no reranker available" in report["retrieval"]["rerank"]["notice"] and "Mode rerank: no reranker" in md
    assert not hybrid["notice"] and "### Split:" not in md  # no split given: no table repeating the first
    assert "Queries: `q.jsonl`" in md and str(tmp_path) not in md  # no machine path in a report
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| bm25 |" in capsys.readouterr().out
    low, high = hybrid["ci95"]["hit@1"]
    assert low <= hybrid["overall"]["hit@1"] <= high and set(hybrid["by_kind_ci95"]) == {"detail", "paraphrase"}
    overall = [d for d in report["differences"] if d["metric"] == "hit@1" and d["group"] == "all"]
    assert [(d["a"], d["b"]) for d in overall] == [("hybrid", "bm25"), ("rerank", "bm25"), ("rerank", "hybrid")]
    diff = overall[0]
    bm25_hit = report["retrieval"]["bm25"]["overall"]["hit@1"]
    assert diff["difference"] == pytest.approx(hybrid["overall"]["hit@1"] - bm25_hit)
    assert "### 95 % intervals" in md and "| hybrid − bm25 |" in md


def test_eval_rejects_unknown_mode(index_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["eval", "--modes", "bm25,telepathy", "--index-dir", str(index_dir)]) == 2
    assert "telepathy" in capsys.readouterr().err


def test_askdoc_eval_answers_on_the_test_split(index_dir: Path, tmp_path: Path) -> None:
    """The answer tables end to end: the real dev set's test split, the default (extractive) style, probes on."""
    out = tmp_path / "answers"
    args = ["eval", "--split", "test", "--modes", "hybrid", "--answers", "--styles", "extractive"]
    assert main([*args, "--out", str(out), "--index-dir", str(index_dir)]) == 0
    report = json.loads((out / "report.json").read_text())
    summary = report["answers"]["extractive"]["overall"]
    assert summary["n"] == sum(q.split == "test" for q in load_questions(DEFAULT_QUERIES))
    assert summary["probed"] >= 25 and summary["probe_assertions"] == 0  # quotes assert no distortion
    assert summary["supported_sentences"] == 1.0 and summary["dangling_citations"] == 0
    assert summary["citation_precision"] > 0.8 and summary["fact_recall"] > 0.5
    low, high = report["answers"]["extractive"]["ci95"]["fact_recall"]
    assert 0 < low < summary["fact_recall"] < high < 1  # the split is large enough for a real interval
    md = (out / "report.md").read_text()
    assert "| pipeline | citation_precision |" in md and "| extractive |" in md and "probe_assertions" in md
    assert (out / "report.png").stat().st_size > 1000


def test_eval_rejects_unknown_answer_style(index_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["eval", "--answers", "--styles", "poetry", "--index-dir", str(index_dir)]) == 2
    assert "poetry" in capsys.readouterr().err


def test_calibrate_fits_an_explainable_model_with_a_bounded_false_refusal_rate() -> None:
    from eval.calibrate import FALLING, decision, fit, rates
    from rag.refusal import FEATURES, RefusalModel, Signals

    rng = np.random.default_rng(0)
    y = np.array([1] * 80 + [0] * 20)
    covered = np.array([-1.0 if f in FALLING else 1.0 for f in FEATURES])  # which way each signal says "covered"
    x = rng.normal(size=(100, len(FEATURES))) + y[:, None] * 1.5 * covered
    params, threshold = fit(x, y, max_false=0.05)
    assert params["features"] == list(FEATURES) and 0 < threshold < 1
    model = RefusalModel.from_json(params)
    p = np.array([model.probability(model.contributions(Signals(*row))) for row in x])
    assert np.allclose(p, 1 / (1 + np.exp(-decision(params, x))))  # the product computes what was fitted
    refused, false = rates(p, y, 0.5)  # the operating point is folded into the base
    assert false <= 0.05 and refused > 0.5
    for name, (thresholds, values) in model.steps.items():  # one monotone step function per signal, right way up
        assert thresholds == sorted(thresholds) and len(values) == len(thresholds) + 1
        assert (np.diff(values) * covered[FEATURES.index(name)] >= 0).all() and values[-1] != values[0]


def test_a_refusal_model_of_another_kind_is_named_as_such(tmp_path: Path) -> None:
    from rag.refusal import FEATURES, RefusalModel

    older = tmp_path / "refusal.json"  # the logistic regression of earlier versions
    older.write_text(json.dumps({"features": list(FEATURES), "coef": [0.1] * len(FEATURES), "intercept": 1.0}))
    with pytest.raises(ValueError, match=r"older kind; refit it: python -m eval\.calibrate --write"):
        RefusalModel.load(older)
    steps = {f: {"thresholds": [0.5], "values": [0.0]} for f in FEATURES}  # one value short
    with pytest.raises(ValueError, match="sorted thresholds and one value more"):
        RefusalModel.from_json({"features": list(FEATURES), "base": 0.0, "steps": steps})


def test_the_step_functions_are_the_trees_own_sum_on_questions_never_seen() -> None:
    """Read off through decision_function, exactly: with more than 255 distinct values a signal's trees split at
    training values rather than midpoints, so new values between two training values and values exactly on a
    split are where a read-off that is only right on the fitted rows goes wrong."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from eval.calibrate import decision, step_functions
    from rag.refusal import FEATURES

    rng = np.random.default_rng(1)
    y = (rng.random(600) < 0.6).astype(int)
    x = rng.normal(size=(600, len(FEATURES))) + y[:, None]
    trees = HistGradientBoostingClassifier(max_depth=1, max_iter=40, class_weight="balanced").fit(x, y)
    params = step_functions(trees, x)
    fresh = rng.normal(size=(3000, len(FEATURES)))
    on_splits = np.repeat(x[:1], 40, axis=0)
    splits = [(j, t) for j, f in enumerate(FEATURES) for t in params["steps"][f]["thresholds"]][:40]  # type: ignore[index]
    for row, (j, t) in enumerate(splits):
        on_splits[row, j] = t
    for rows in (x, fresh, on_splits[: len(splits)]):
        assert np.allclose(decision(params, rows), trees.decision_function(rows), rtol=0, atol=1e-4)


def test_doc2query_keeps_round_trip_questions_and_asks_each_passage_once(tmp_path: Path) -> None:
    """The generation behind the doc2query rows of the retrieval ablation (eval/doc2query.py)."""
    from scripted_llm import ScriptedChat

    from corpus.model import Passage
    from eval.doc2query import QuestionCache, expand, parse_questions, passage_hash

    written = "1. What does focal loss down-weight?\n2) Why?\n- What is the capital of France?\nSure!\n"
    assert parse_questions(written + "3. What does focal loss down-weight?") == [
        "What does focal loss down-weight?",  # numbering stripped, a repeat and a 1-word line left out
        "What is the capital of France?",
    ]
    passages = [
        Passage("focal#0", "focal", "What is focal loss?", "Focal loss down-weights easy examples."),
        Passage("focal#1", "focal", "What is focal loss?", "It adds a focusing parameter gamma."),
    ]
    model = ScriptedChat(written)

    def finds(question: str) -> list[str]:  # the round trip: only the focal-loss question finds its section
        return ["focal"] if "focal" in question else ["geography"]

    path = tmp_path / "questions.jsonl"
    assert expand(passages, model, finds, QuestionCache(path)) == 2
    cache = QuestionCache(path)  # read back from the file
    kept = cache.get(passage_hash(passages[0].indexed_text))
    assert len(cache) == 2 and kept == ["What does focal loss down-weight?"]
    assert json.loads(path.read_text().splitlines()[0])["dropped"] == 1
    assert expand(passages, model, finds, cache) == 0 and len(model.calls) == 2  # cached: the LLM is not asked again


def test_bootstrap_intervals_match_the_binomial_and_pair_the_questions() -> None:
    from scipy.stats import binomtest

    from eval.uncertainty import interval, paired_difference

    hits = [1.0] * 110 + [0.0] * 13  # hit@1 0.894 on 123 questions, as on the test split
    low, high = interval(hits)
    wilson = binomtest(110, 123).proportion_ci(method="wilson")
    assert low < 110 / 123 < high and abs(low - wilson.low) < 0.02 and abs(high - wilson.high) < 0.02
    assert interval(hits) == (low, high)  # seeded: a report rerun gives the same intervals
    assert interval([1.0, 1.0]) == (1.0, 1.0) and all(np.isnan(interval([])))
    # Two systems that differ on the same 5 questions only: pairing keeps the rest out of the interval.
    better = hits[:]
    better[110:115] = [1.0] * 5
    diff, d_low, d_high = paired_difference(better, hits)
    assert diff == pytest.approx(5 / 123) and 0 < d_low < diff < d_high < 0.09
    assert paired_difference(hits, hits) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="same questions"):
        paired_difference(hits, hits[:-1])
    assert interval([1.0, float("nan"), 0.0, 1.0]) == interval([1.0, 0.0, 1.0])  # undefined: left out, as from means


def test_mode_differences_pair_the_same_questions_and_group_them_as_the_report_does() -> None:
    from eval.runner import ModeReport, QuestionResult, compare

    def report(mode: str, hits: list[float], kinds: list[str]) -> ModeReport:
        rows = [
            QuestionResult(f"q{i}", kind, "test", ["s"], [], {"hit@1": hit}, {})
            for i, (hit, kind) in enumerate(zip(hits, kinds, strict=True))
        ]
        return ModeReport(mode, rows)

    kinds = ["detail", "detail", "paraphrase", "paraphrase"]
    rows = compare(report("b", [1, 1, 1, 0], kinds), report("a", [1, 0, 0, 0], kinds), ["hit@1"])
    assert {r["group"]: r["difference"] for r in rows} == {"all": 0.5, "detail": 0.5, "paraphrase": 0.5}
    unkinded = compare(report("b", [1, 0], ["", ""]), report("a", [0, 0], ["", ""]), ["hit@1"])
    assert [r["group"] for r in unkinded] == ["all"]  # a question file without kinds: no duplicate group
    with pytest.raises(ValueError, match="same questions"):
        compare(report("b", [1], ["x"]), report("a", [1, 0], ["x", "x"]), ["hit@1"])
