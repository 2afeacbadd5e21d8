"""The bundled users' collections (eval/collections.py): their question files match their documents as askdoc
reads them, and the refusal model, fitted on them beside the guide, answers a user's notes rather than refusing."""

from __future__ import annotations

import pytest

from eval.collections import bundled, engine, index_folder
from eval.dataset import load_questions, validate
from index.embed import Embedder
from rag.config import Settings
from rag.pipeline import AskDoc


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory, settings: Settings, embedder: Embedder) -> dict[str, AskDoc]:
    """Each bundled collection indexed once for this module (a few seconds each), with an engine over it."""
    base = settings.replace(index_dir=tmp_path_factory.mktemp("users") / "idx")
    out = {bundle.name: engine(base, bundle, embedder) for bundle in bundled()}
    for answerer in out.values():  # beside the user's folder of indexes, never in it
        assert answerer.settings.index_dir == index_folder(base) and not base.index_dir.exists()
    return out


def test_every_bundled_question_names_sections_that_exist(engines: dict[str, AskDoc]) -> None:
    """A parser change that renames a section (or drops a fact from it) shows here, not as a silent drop in
    the figures measured on these collections."""
    assert sorted(engines) == ["course", "ledgerly", "notes", "snapvault"]
    for bundle in bundled():
        questions = load_questions(bundle.queries)
        assert validate(questions, engines[bundle.name].retriever.index.sections) == [], bundle.name
        halves = {(q.split, q.answerable) for q in questions}
        assert halves == {("tune", True), ("tune", False), ("test", True), ("test", False)}, bundle.name


@pytest.mark.parametrize(
    ("question", "note"),
    [
        ("who did the hiring committee decide to hire?", "2025-03-05 Hiring Committee.md"),
        ("how much money does Tom owe me?", "Tom.md"),
    ],
)
def test_a_question_about_ones_own_notes_is_answered(engines: dict[str, AskDoc], question: str, note: str) -> None:
    """Short notes match a question less closely than the guide's paragraphs do; a refusal model fitted on the
    guide alone refused both of these."""
    answer = engines["notes"].ask(question, extractive=True)
    assert not answer.refused, answer.to_json()["refusal"]
    assert answer.sources[0].document == note


@pytest.mark.parametrize("question", ["what's my lasagne recipe?", "what did I think of Sapiens?"])
def test_a_question_ones_notes_do_not_answer_is_still_refused(engines: dict[str, AskDoc], question: str) -> None:
    """The notes hold other recipes and other books: near, but no answer."""
    answer = engines["notes"].ask(question, extractive=True)
    assert answer.refused and answer.sources == []
