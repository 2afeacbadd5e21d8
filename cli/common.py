"""What every command shares: settings from flags and environment, messages on stderr, JSON lines on stdout."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.config import ANSWER_STYLES, MODES, Settings

if TYPE_CHECKING:
    from index.embed import Embedder
    from rag.retrieve import Retriever


SAID: list[str] = []  # what notify() has said in this process: an answer's notice is not said twice


def notify(message: str) -> None:
    SAID.append(message)
    print(f"askdoc: {message}", file=sys.stderr, flush=True)


# Libraries that speak to the terminal on their own: model-loading bars ("Loading weights"), advice and deprecation
# notices. A person running askdoc sees askdoc's lines only. askdoc's own bars for long work (index build, reranker
# training, eval) are plain tqdm bars and stay.
QUIET_ENV = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # also turns off transformers' bars (read when it is imported)
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "TOKENIZERS_PARALLELISM": "false",  # else tokenizers warns when a process forks after using it
}
QUIET_LOGGERS = ("transformers", "sentence_transformers", "huggingface_hub", "torch", "bm25s", "faiss", "accelerate")


def quiet_libraries() -> None:
    """Called once at the CLI's entry, before any library is imported. A variable or warning filter the user set
    (PYTHONWARNINGS, -W, TRANSFORMERS_VERBOSITY ...) still wins."""
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)
    if not sys.warnoptions:
        warnings.simplefilter("ignore")
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def common_parser() -> argparse.ArgumentParser:
    """The flags of every command that opens the index."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index-dir", type=Path, help="index directory (env ASKDOC_INDEX_DIR)")
    common.add_argument("--device", help="auto, cpu, cuda, cuda:1, mps ... (default auto; env ASKDOC_DEVICE)")
    common.add_argument(
        "--collection", help='which collection (default "default"; env ASKDOC_COLLECTION); `index add` makes one'
    )
    return common


def add_question_arguments(p: argparse.ArgumentParser, question: str, k: str, json_: str) -> None:
    """The question and the retrieval flags that `search` and `ask` share (the help texts are theirs)."""
    p.add_argument("question", help=question)
    p.add_argument("--k", type=int, help=k)
    p.add_argument(
        "--mode",
        choices=MODES,
        help="retrieval mode (default hybrid; auto: rerank once `askdoc reranker train` has run, else hybrid)",
    )
    p.add_argument("--json", action="store_true", help=json_)


def add_style_arguments(p: argparse.ArgumentParser) -> None:
    """--extractive or --style, for `ask` and `chat` (--extractive is --style extractive: both at once contradict)."""
    style = p.add_mutually_exclusive_group()
    style.add_argument("--extractive", action="store_true", help="answer with source sentences only, no LLM")
    style.add_argument(
        "--style",
        choices=ANSWER_STYLES,
        help="extractive (quote the evidence; default), generate (the LLM writes, verified sentence by sentence), "
        "select / copy (the LLM picks or copies evidence under a grammar); env ASKDOC_ANSWER_STYLE",
    )


def add_refusal_argument(p: argparse.ArgumentParser) -> None:
    """--refuse-below, for `ask` and `chat`: the way past a wrong refusal (0 never refuses)."""
    p.add_argument(
        "--refuse-below",
        type=float,  # its range is checked with the settings (rag.config.check_probability)
        metavar="P",
        help="refuse when the refusal model gives the collection less than P of answering (default 0.5; 0 never "
        "refuses; env ASKDOC_REFUSE_BELOW)",
    )


def settings_from(args: argparse.Namespace, **extra: Any) -> Settings:
    return Settings.from_env(
        index_dir=getattr(args, "index_dir", None),
        device=getattr(args, "device", None),
        collection=getattr(args, "collection", None),
        **extra,
    )


def batch_questions(arg: str) -> Iterator[str] | None:
    """`-` means one question per line on stdin (batch mode); otherwise None."""
    if arg != "-":
        return None
    return (line.rstrip("\r\n") for line in sys.stdin)  # a file saved on Windows ends its lines with CR LF


def run_batch(questions: Iterator[str], one: Callable[[str], dict[str, Any]]) -> int:
    """Emit one JSON line per question, in order; exit code 2 when any line failed, 0 otherwise.

    A failed line is still emitted, with its "error", so a script can both read every line and test the exit code.
    """
    failed = total = 0
    for question in questions:
        row = one(question)
        total += 1
        failed += "error" in row
        emit(row)
    if failed:
        notify(f'{failed} of {total} questions failed; their lines carry an "error"')
    return 2 if failed else 0


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def loaded_embedder(settings: Settings) -> Embedder:
    from rag.retrieve import embedder_for

    embedder = embedder_for(settings, notify)
    embedder.warm_up()
    return embedder


def loaded_retriever(settings: Settings) -> Retriever:
    from rag.retrieve import Retriever  # imported on use: commands that never search start faster

    retriever = Retriever(settings, notify=notify)
    retriever.warm_up()
    return retriever


def notify_corrections(corrections: dict[str, str]) -> None:
    """Say which misspelt words were searched as which collection words (index/spelling.py), so nothing is hidden."""
    if corrections:
        notify("searched for " + ", ".join(f"{new!r} (typed {old!r})" for old, new in corrections.items()))


def listed(words: list[str], most: int = 8) -> str:
    """The first `most` words and a count of the rest: a pasted paragraph can hold dozens the collection lacks."""
    rest = f", and {len(words) - most} more" if len(words) > most else ""
    return ", ".join(words[:most]) + rest


def bounded(low: float, high: float, kind: type = int) -> Callable[[str], Any]:
    """An argparse type: a number (`kind`) from low to high, else the usual one-line usage error (exit 2)."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole ' if kind is int else ''}number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse
