"""`askdoc chat`: a conversation in the terminal. Each question is answered like `askdoc ask` does, with the turns
before it as history, so a follow-up ("how is its gamma chosen?") is searched with the topic it refers to.
Reads one question per line (a terminal or a pipe); /new starts over, /quit or end of input ends."""

from __future__ import annotations

import argparse
import re
import sys

from cli.ask import print_sources, print_text
from cli.common import add_refusal_argument, add_style_arguments, notify, settings_from
from corpus.errors import AskdocError
from rag.config import MODES

HELP = "Ask a question; follow-ups use the conversation so far. /new starts over, /quit or /exit (or Ctrl-D) ends."


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("chat", parents=[common], help="a conversation: follow-up questions use the turns before")
    p.add_argument("--k", type=int, help="sections to retrieve (default 5)")
    p.add_argument(
        "--mode",
        choices=MODES,
        help="retrieval mode (default hybrid; auto: rerank once `askdoc reranker train` has run, else hybrid)",
    )
    add_style_arguments(p)
    add_refusal_argument(p)
    p.set_defaults(func=cmd_chat)


def cmd_chat(args: argparse.Namespace) -> int:
    from rag.followup import MAX_TURNS, Turn
    from rag.pipeline import AskDoc

    settings = settings_from(args, k=args.k, mode=args.mode, answer_style=args.style, refuse_below=args.refuse_below)
    askdoc = AskDoc(settings, notify=notify)
    askdoc.warm_up(llm=False)  # the LLM loads on first need, as for askdoc ask
    terminal = sys.stdin.isatty()
    if terminal:
        print(HELP)
    history: list[Turn] = []
    try:
        while (line := _read(terminal)) is not None:
            question = line.strip()
            if not question:
                continue
            command = question.lower() if re.fullmatch(r"/[A-Za-z]+", question) else ""
            if command in ("/quit", "/exit"):
                break
            if command == "/new":
                history = []
                print("(new conversation)")
                continue
            if command:  # /help, or a mistyped command: not a question about "bogus"
                notify(("" if command == "/help" else f"unknown command {question}: ") + HELP)
                continue
            if not terminal:
                print(f"> {question}")  # piped in: show which question each answer belongs to
            try:
                answer = print_text(askdoc, question, args.extractive, sys.stdout.isatty(), history)
            except AskdocError as exc:  # a bad question ends that turn, not the conversation
                notify(f"error: {exc}")
                continue
            print_sources(answer)
            print()
            if answer.refused:  # a question the collection does not cover sets no topic for the next one
                continue
            sections = tuple(dict.fromkeys(src.section_id for src in answer.cited_sources()))
            history = [*history, Turn(question, sections)][-MAX_TURNS:]
    except KeyboardInterrupt:
        print()  # Ctrl-C: leave the prompt's line clean and end quietly
    return 0


def _read(terminal: bool) -> str | None:
    """The next line typed or piped in; None at the end of input."""
    if terminal:
        try:
            return input("> ")
        except EOFError:
            print()
            return None
    line = sys.stdin.readline()
    return line if line else None
