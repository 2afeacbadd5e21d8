"""One evaluation run: load the question set, retrieve (and answer) with every mode, score, write the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.errors import InvalidInputError
from corpus.ids import DEFAULT_COLLECTION
from eval.dataset import DEFAULT_PROBES, DEFAULT_QUERIES, EvalQuestion, load_probes, load_questions, resolve
from eval.report import build_report, writable_folder, write_report
from eval.runner import DEPTH, AnswerReport, run_answers, run_retrieval
from index.collection import Notify, quiet
from rag.config import ANSWER_STYLES, MODES, Settings, check_choice
from rag.pipeline import AskDoc
from rag.retrieve import Retriever

REPO = Path(__file__).resolve().parent.parent


@dataclass
class EvalOptions:
    modes: list[str]  # retrieval modes to compare, on the same questions
    queries: Path = DEFAULT_QUERIES
    split: str = "all"  # "all", "tune" or "test"
    k: int = 5  # of hit@k and recall@k
    answers: bool = False  # also answer every question and score the answers
    styles: list[str] = field(default_factory=lambda: list(ANSWER_STYLES))  # answer pipelines to compare
    probes: Path = DEFAULT_PROBES  # contradiction probes (eval/data/probes.jsonl)
    out: Path = Path("eval-report")


def run_eval(settings: Settings, options: EvalOptions, notify: Notify = quiet) -> tuple[dict[str, Any], list[Path]]:
    """The report, and the files it was written to."""
    modes = options.modes
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise InvalidInputError(f"unknown mode(s) {unknown}; choose from {', '.join(MODES)}")
    for style in options.styles:
        check_choice("answer style", style, ANSWER_STYLES)
    if not 1 <= options.k <= DEPTH:  # each search returns DEPTH sections: hit@k beyond them would be hit@DEPTH
        raise InvalidInputError(f"k must be between 1 and {DEPTH}, got {options.k}")
    writable_folder(options.out)  # said now, not after the whole evaluation has run
    questions = _questions(options.queries, options.split)
    retriever = Retriever(settings, notify=notify)
    retriever.warm_up()
    problems = resolve(questions, retriever.index.sections)
    if problems:
        about = (
            f" (the bundled set asks about the default collection's guide: give collection {settings.collection!r} "
            "questions of its own with --queries)"
            if options.queries == DEFAULT_QUERIES and settings.collection != DEFAULT_COLLECTION
            else ""
        )
        raise InvalidInputError(
            f"{options.queries}: {len(problems)} problem(s), e.g. " + "; ".join(problems[:3]) + about
        )
    reports = run_retrieval(retriever, questions, modes, k=options.k)
    answers = (
        _answers(settings, retriever, questions, options.styles, options.probes, notify) if options.answers else []
    )
    manifest = retriever.index.manifest
    meta = {
        "queries": display_path(options.queries),
        "split": options.split,
        "collection": settings.collection,
        "k": options.k,
        "n_questions": len(questions),
        "n_answerable": sum(q.answerable for q in questions),
        "index": manifest.to_dict() | {"documents": len(manifest.documents)},
    }
    report = build_report(reports, answers, meta)
    return report, write_report(report, options.out)


def _questions(path: Path, split: str) -> list[EvalQuestion]:
    questions = load_questions(path)
    if split != "all":
        questions = [q for q in questions if q.split == split]
        if not questions:
            raise InvalidInputError(f"{path}: no questions in split {split!r}")
    return questions


def _answers(
    settings: Settings,
    retriever: Retriever,
    questions: list[EvalQuestion],
    styles: list[str],
    probes_path: Path,
    notify: Notify,
) -> list[AnswerReport]:
    askdoc = AskDoc(settings, retriever=retriever, notify=notify)  # reuse the loaded embedder and index
    askdoc.warm_up(llm=any(s != "extractive" for s in styles))
    probes = load_probes(probes_path)
    return [
        run_answers(lambda q, s=style: askdoc.ask(q, style=s).to_json(), questions, style, probes)  # type: ignore[misc]
        for style in styles
    ]


def display_path(path: Path) -> str:
    """The query file as a committed report may show it: relative to the repository, else its bare name."""
    try:
        return path.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return path.name
