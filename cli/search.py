"""`askdoc search`: the sections that answer a question, as text or JSON (one line per question in batch mode)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from cli.common import (
    add_question_arguments,
    batch_questions,
    emit,
    listed,
    loaded_retriever,
    notify,
    notify_corrections,
    run_batch,
    settings_from,
)
from corpus.errors import AskdocError
from corpus.ids import doc_prefix

if TYPE_CHECKING:
    from rag.config import Settings
    from rag.retrieve import Retriever


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("search", parents=[common], help="find the sections that answer a question")
    question = "the question, or - to read one question per line from stdin"
    add_question_arguments(p, question, "number of sections (default 5)", "print JSON (always on in batch mode)")
    p.set_defaults(func=cmd_search)


def cmd_search(args: argparse.Namespace) -> int:
    settings = settings_from(args, k=args.k, mode=args.mode)
    retriever = loaded_retriever(settings)
    batch = batch_questions(args.question)
    if batch is not None:
        return run_batch(batch, lambda question: _search_line(retriever, settings, question))
    result = retriever.search(args.question)
    if args.json:
        emit(result.to_json())
        return 0
    notify_corrections(result.corrections)
    if result.unknown_words:  # the results can only be near in meaning to what the documents never mention
        notify(f"the documents never mention: {listed(result.unknown_words)}")
    if not result.hits:
        print("No matching sections.")
    for hit in result.hits:
        print(f"{hit.rank}. {hit.heading}")
        # An added document's hit names its file (and page), as an answer's sources do.
        page = f", p. {hit.page}" if hit.page is not None else ""
        where = f"{hit.document}{page} · " if doc_prefix(hit.section_id) else ""
        print(f"   [{hit.section_id} · {where}{hit.category or '-'} · score {hit.score:.4f}]")
        print(f"   {_shorten(hit.snippet, 240)}")
    return 0


def _search_line(retriever: Retriever, settings: Settings, question: str) -> dict[str, object]:
    try:
        return retriever.search(question).to_json()
    except AskdocError as exc:  # one bad line must not stop the batch or shift its output
        error = {"query": question, "mode": settings.mode, "results": [], "collection": settings.collection}
        return error | {"error": str(exc)}


def _shorten(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1].rsplit(" ", 1)[0] + " …"
