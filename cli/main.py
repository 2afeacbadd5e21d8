"""The `askdoc` command line. User mistakes end with a one-line message and exit code 2, never a traceback."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from cli import ask, chat, collection, evaluate, search, serve
from cli.common import common_parser
from corpus.errors import AskdocError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="askdoc", description="Ask questions about your documents; answers cite their sources."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = common_parser()
    for command in (search, ask, chat, collection, serve, evaluate):  # the order of `askdoc --help`
        command.register(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except AskdocError as exc:
        print(f"askdoc: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("askdoc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
