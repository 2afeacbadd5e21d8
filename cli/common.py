"""What every command shares: settings from flags and environment, messages on stderr, JSON lines on stdout."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.config import MODES, Settings

if TYPE_CHECKING:
    from rag.retrieve import Retriever


def notify(message: str) -> None:
    print(f"askdoc: {message}", file=sys.stderr, flush=True)


def common_parser() -> argparse.ArgumentParser:
    """The flags of every command that opens the index."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index-dir", type=Path, help="index directory (env ASKDOC_INDEX_DIR)")
    common.add_argument("--device", help="auto, cpu, cuda, cuda:1 ... (env ASKDOC_DEVICE)")
    return common


def add_question_arguments(p: argparse.ArgumentParser, question: str, k: str, json_: str) -> None:
    """The question and the retrieval flags that `search` and `ask` share (the help texts are theirs)."""
    p.add_argument("question", help=question)
    p.add_argument("--k", type=int, help=k)
    p.add_argument("--mode", choices=MODES, help="retrieval mode (default hybrid)")
    p.add_argument("--json", action="store_true", help=json_)


def settings_from(args: argparse.Namespace, **extra: Any) -> Settings:
    return Settings.from_env(
        index_dir=getattr(args, "index_dir", None),
        device=getattr(args, "device", None),
        **extra,
    )


def batch_questions(arg: str) -> Iterator[str] | None:
    """`-` means one question per line on stdin (batch mode); otherwise None."""
    if arg != "-":
        return None
    return (line.rstrip("\n") for line in sys.stdin)


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def loaded_retriever(settings: Settings) -> Retriever:
    from rag.retrieve import Retriever  # imported on use: commands that never search start faster

    retriever = Retriever(settings, notify=notify)
    retriever.warm_up()
    return retriever
