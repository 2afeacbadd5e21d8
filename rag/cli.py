"""The `askdoc` command line. User mistakes end with a one-line message and exit code 2, never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from corpus.errors import AskdocError
from rag.config import MODES, Settings


def _notify(message: str) -> None:
    print(f"askdoc: {message}", file=sys.stderr, flush=True)


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    return Settings.from_env(
        index_dir=getattr(args, "index_dir", None),
        device=getattr(args, "device", None),
        **extra,
    )


def _questions(arg: str) -> Iterator[str] | None:
    """`-` means one question per line on stdin (batch mode); otherwise None."""
    if arg != "-":
        return None
    return (line.rstrip("\n") for line in sys.stdin)


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _retriever(settings: Settings, progress: bool = True):  # type: ignore[no-untyped-def]
    from rag.retrieve import Retriever

    retriever = Retriever(settings, notify=_notify, progress=progress)
    retriever.warm_up()
    return retriever


# ---- search -------------------------------------------------------------------------------------------------
def cmd_search(args: argparse.Namespace) -> int:
    settings = _settings(args, k=args.k, mode=args.mode)
    retriever = _retriever(settings)
    batch = _questions(args.question)
    if batch is not None:
        for question in batch:
            try:
                _emit(retriever.search(question).to_json())
            except AskdocError as exc:  # one bad line must not stop the batch or shift its output
                _emit({"query": question, "mode": settings.mode, "results": [], "error": str(exc)})
        return 0
    result = retriever.search(args.question)
    if args.json:
        _emit(result.to_json())
        return 0
    if not result.hits:
        print("No matching sections.")
    for hit in result.hits:
        print(f"{hit.rank}. {hit.heading}")
        print(f"   [{hit.section_id} · {hit.category or '-'} · score {hit.score:.4f}]")
        print(f"   {_shorten(hit.snippet, 240)}")
    return 0


def _shorten(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1].rsplit(" ", 1)[0] + " …"


# ---- index --------------------------------------------------------------------------------------------------
def cmd_index_build(args: argparse.Namespace) -> int:
    from index.embed import Embedder
    from index.store import load
    from rag.indexing import build, open_index

    settings = _settings(args, faiss_kind=args.faiss)
    embedder = Embedder(settings.embed_model, settings.device)
    embedder.warm_up()
    if args.rebuild:
        previous = None
        if (settings.index_dir / "manifest.json").exists():
            try:  # keep the user's added documents across a rebuild when the old index is readable
                previous = load(settings.index_dir)
            except AskdocError as exc:
                _notify(f"previous index unreadable ({exc}); rebuilding the default corpus only")
        index = build(settings, embedder, _notify, progress=True, previous=previous)
    else:
        index = open_index(settings, embedder, _notify, progress=True)
        _notify(f"index at {settings.index_dir} is up to date")
    _print_info(index.manifest.to_dict(), settings)
    return 0


def cmd_index_add(args: argparse.Namespace) -> int:
    from index.embed import Embedder
    from rag.indexing import add_documents

    settings = _settings(args)
    embedder = Embedder(settings.embed_model, settings.device)
    embedder.warm_up()
    index = add_documents(settings, embedder, [Path(p) for p in args.paths], _notify)
    _print_info(index.manifest.to_dict(), settings)
    return 0


def cmd_index_info(args: argparse.Namespace) -> int:
    from index.store import read_manifest

    settings = _settings(args)
    manifest = read_manifest(settings.index_dir).to_dict()
    if args.json:
        _emit({"index_dir": str(settings.index_dir), **manifest})
    else:
        _print_info(manifest, settings)
    return 0


def _print_info(manifest: dict[str, Any], settings: Settings) -> None:
    counts = manifest["counts"]
    print(f"index:     {settings.index_dir}")
    print(f"built:     {manifest['created_at']}")
    print(f"embedder:  {manifest['embed_model']} (dim {manifest['embed_dim']}, FAISS {manifest['faiss_kind']})")
    print(f"chunker:   {manifest['chunker']}")
    print(
        f"contents:  {counts['documents']} documents, {counts['sections']} sections, "
        f"{counts['passages']} passages"
    )
    for doc in manifest["documents"]:
        tag = " (default corpus)" if doc["default"] else ""
        print(f"  - {doc['name']}: {doc['sections']} sections{tag}  [{doc['path']}]")


# ---- parser -------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index-dir", type=Path, help="index directory (env ASKDOC_INDEX_DIR)")
    common.add_argument("--device", help="auto, cpu, cuda, cuda:1 ... (env ASKDOC_DEVICE)")

    parser = argparse.ArgumentParser(
        prog="askdoc", description="Ask questions about your documents; answers cite their sources."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("search", parents=[common], help="find the sections that answer a question")
    p.add_argument("question", help="the question, or - to read one question per line from stdin")
    p.add_argument("--k", type=int, help="number of sections (default 5)")
    p.add_argument("--mode", choices=MODES, help="retrieval mode (default hybrid)")
    p.add_argument("--json", action="store_true", help="print JSON (always on in batch mode)")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("index", help="build or extend the index")
    isub = p.add_subparsers(dest="index_command", required=True, metavar="ACTION")
    b = isub.add_parser("build", parents=[common], help="build the index (default corpus + added documents)")
    b.add_argument("--rebuild", action="store_true", help="rebuild even when the index is up to date")
    b.add_argument("--faiss", choices=("flat", "hnsw"), help="FAISS index kind (default flat: exact)")
    b.set_defaults(func=cmd_index_build)
    a = isub.add_parser("add", parents=[common], help="add or update Markdown / plain-text documents")
    a.add_argument("paths", nargs="+", help="files to add")
    a.set_defaults(func=cmd_index_add)
    i = isub.add_parser("info", parents=[common], help="show what the index holds")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_index_info)
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
