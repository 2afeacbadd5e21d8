"""The `askdoc` command line. User mistakes end with a one-line message and exit code 2, never a traceback."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Callable

from cli import ask, chat, collection, evaluate, search, serve
from cli.common import SAID, common_parser, quiet_libraries
from corpus.errors import REBUILD, AskdocError, ManifestUnreadableError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="askdoc", description="Ask questions about your documents; answers cite their sources."
    )
    parser.add_argument("--version", action="version", version=f"askdoc {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = common_parser()
    for command in (search, ask, chat, collection, serve, evaluate):  # the order of `askdoc --help`
        command.register(sub, common)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("askdoc")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def main(argv: list[str] | None = None) -> int:
    quiet_libraries()
    SAID.clear()  # one command's lines (tests run many in one process)
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except AskdocError as exc:
        print(f"askdoc: error: {_with_own_options(exc, args)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("askdoc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _with_own_options(exc: AskdocError, args: argparse.Namespace) -> str:
    """A rebuild hint that names the index folder and collection of the index that failed (found by its folder
    in the message), so that it can be run as printed."""
    message = str(exc)
    if REBUILD not in message:
        return message
    from cli.collection import lost_manifest
    from index.collections import DEFAULT, collection_dir, names
    from rag.config import Settings

    try:
        root = Settings.from_env(index_dir=getattr(args, "index_dir", None)).index_dir
        folders = {name: collection_dir(root, name) for name in names(root)}
    except AskdocError:
        return message
    # The longest folder first: the default collection's may be the root that holds the others.
    for name, folder in sorted(folders.items(), key=lambda item: -len(str(item[1]))):
        if str(folder) in message:
            options = f" --index-dir {shlex.quote(str(root))}" if getattr(args, "index_dir", None) else ""
            if name != DEFAULT and isinstance(exc, ManifestUnreadableError):
                # A named collection is its documents, which only the manifest lists: a rebuild has nothing to read.
                return message.replace(REBUILD, lost_manifest(name, folder, options))
            options += f" --collection {name}" if name != DEFAULT else ""
            return message.replace(REBUILD, REBUILD.removesuffix("`") + options + "`")
    return message


if __name__ == "__main__":
    sys.exit(main())
