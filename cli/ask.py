"""`askdoc ask`: a cited answer, streamed to a terminal, as one JSON object, or one JSON line per question."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from cli.common import (
    SAID,
    add_question_arguments,
    add_refusal_argument,
    add_style_arguments,
    batch_questions,
    emit,
    listed,
    notify,
    notify_corrections,
    run_batch,
    settings_from,
)
from corpus.errors import AskdocError
from corpus.ids import doc_prefix
from rag.generation.registry import BACKEND_NAMES

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rag.followup import Turn
    from rag.pipeline import Answer, AskDoc


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("ask", parents=[common], help="answer a question, citing the sections it comes from")
    question = "the question, or - to read one question per line from stdin (JSON out)"
    add_question_arguments(p, question, "sections to retrieve (default 5)", "print one JSON object")
    p.add_argument(
        "--stream",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="print each sentence as soon as it is verified (default: when printing to a terminal)",
    )
    add_style_arguments(p)
    p.add_argument("--show-draft", action="store_true", help="also print the LLM's raw draft (for debugging)")
    p.add_argument(
        "--backend",
        choices=BACKEND_NAMES,
        help="LLM backend (env ASKDOC_LLM_BACKEND)",
    )
    p.add_argument("--model", help="LLM: 'smollm2' (bundled), a local path or a hub id (env ASKDOC_LLM_MODEL)")
    add_refusal_argument(p)
    p.set_defaults(func=cmd_ask)


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.pipeline import AskDoc

    settings = settings_from(
        args,
        k=args.k,
        mode=args.mode,
        llm_backend=args.backend,
        llm_model=args.model,
        answer_style=args.style,
        refuse_below=args.refuse_below,
    )
    askdoc = AskDoc(settings, notify=notify)
    # The LLM loads on first need: never for an extractive answer or a refusal.
    askdoc.warm_up(llm=False)
    batch = batch_questions(args.question)
    if batch is not None:
        return run_batch(batch, lambda question: _ask_line(askdoc, question, args.extractive))
    if args.json:
        emit(askdoc.ask(args.question, extractive=args.extractive).to_json())
        return 0
    stream = sys.stdout.isatty() if args.stream is None else args.stream
    answer = print_text(askdoc, args.question, args.extractive, stream)
    if args.show_draft and answer.draft:
        print(f"\nDraft (unverified, not part of the answer):\n{answer.draft}")
    elif args.show_draft:
        notify("--show-draft: no draft; this answer was quoted from the sources, not written by the LLM")
    print_sources(answer, retry_hint=True)
    return 0


def _ask_line(askdoc: AskDoc, question: str, extractive: bool) -> dict[str, object]:
    try:
        return askdoc.ask(question, extractive=extractive).to_json()
    except AskdocError as exc:  # one bad line must not stop the batch or shift its output
        return {
            "question": question,
            "answer": "",
            "citations": [],
            "sentences": [],
            "refused": False,
            "timings": {},
            "collection": askdoc.settings.collection,
            "error": str(exc),
        }


def print_text(askdoc: AskDoc, question: str, extractive: bool, stream: bool, history: Sequence[Turn] = ()) -> Answer:
    """Print each verified sentence as it comes (when streaming) or the whole answer at the end; what streams is
    exactly the answer: nothing shown is taken back. `history`: earlier turns of a conversation (askdoc chat)."""
    from rag.pipeline import FinalEvent

    answer = None
    for event in askdoc.ask_stream(question, extractive=extractive, history=history):
        if isinstance(event, FinalEvent):
            answer = event.answer
        elif stream:
            print(event.text, end="", flush=True)
    assert answer is not None
    print("" if stream else answer.answer)
    return answer


def print_sources(answer: Answer, retry_hint: bool = False) -> None:
    """What follows the answer text: a notice, then the sources it cites (or, refused, the nearest sections;
    `retry_hint`: and how to answer anyway, when the refusal model refused it)."""
    notify_corrections(answer.corrections)
    if answer.notice and not any(answer.notice in said for said in SAID):  # e.g. already said when loading
        notify(answer.notice)
    if answer.refused:
        if why := answer.refusal.get("reasons"):
            print(f"Why: {'; '.join(why)}.")
        if unknown := answer.refusal.get("unknown_words"):
            print(f"It never mentions: {listed(unknown)}.")
        print("\nNearest sections:")
        for hit in answer.nearest:
            print(f"  - {hit['heading']}  [{hit['section_id']}]")
        if retry_hint and answer.refusal.get("covered", 1.0) < answer.refusal.get("refuse_below", 0.0):
            print("\n(A wrong refusal? --refuse-below 0 answers anyway.)")
        return
    print("\nSources:")
    for src in answer.cited_sources():
        # An added document's source names its file (and page): "report.pdf, p. 12, § 3.2 Methods".
        label = src.reference if doc_prefix(src.section_id) else src.heading
        print(f"  [{src.n}] {label}  [{src.section_id}]")
