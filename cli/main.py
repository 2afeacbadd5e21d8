"""The `askdoc` command line. User mistakes end with a one-line message and exit code 2, never a traceback."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Callable

from cli import ask, chat, collection, evaluate, search, serve
from cli.common import common_parser, quiet_libraries
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
    quiet_libraries()
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except AskdocError as exc:
        print(f"askdoc: error: {_with_own_options(str(exc), args)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("askdoc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _with_own_options(message: str, args: argparse.Namespace) -> str:
    """A rebuild hint that names the collection and index folder this command used, so it can be run as given."""
    from corpus.ids import DEFAULT_COLLECTION
    from index.store import REBUILD

    options = "".join(
        f" --{flag.replace('_', '-')} {shlex.quote(str(value))}"
        for flag in ("collection", "index_dir")
        if (value := getattr(args, flag, None)) and value != DEFAULT_COLLECTION
    )
    return message.replace(REBUILD, REBUILD.removesuffix("`") + options + "`") if options else message


if __name__ == "__main__":
    sys.exit(main())
