"""`askdoc index add|remove|list`: the documents of the collection.

`add` prints one line per file (added / replaced / unchanged / skipped: reason) as it is judged, then a summary;
a bad file is skipped with its reason and never stops the others. Exit code 0 when every file was read, 2 when
one was skipped for an error (a duplicate or the default corpus is not an error).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from cli.common import emit, loaded_embedder, notify, settings_from
from corpus.ids import DEFAULT_COLLECTION
from corpus.text import counted
from rag.config import Settings

if TYPE_CHECKING:
    from index.collection import Collection
    from index.embed import Embedder
    from index.ingest import FileResult


def register(isub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    a = isub.add_parser("add", parents=[common], help="add or update documents: PDF, HTML, Markdown, plain text")
    a.add_argument("paths", nargs="+", help="files, or folders to walk recursively")
    a.add_argument("--glob", help="in folders, only files matching this pattern (default: every supported suffix)")
    a.add_argument("--json", action="store_true", help="one JSON object: the per-file results and the summary")
    a.set_defaults(func=cmd_index_add)
    r = isub.add_parser("remove", parents=[common], help="remove an added document (by id, name or path)")
    r.add_argument("documents", nargs="+", help="document ids (see `askdoc index list`), file names or paths")
    r.add_argument("--json", action="store_true", help="per document one JSON line, as DELETE /documents/{id} returns")
    r.set_defaults(func=cmd_index_remove)
    ls = isub.add_parser("list", parents=[common], help="list the documents of the collection")
    ls.add_argument("--json", action="store_true", help="the documents as one JSON object")
    ls.set_defaults(func=cmd_index_list)
    c = isub.add_parser("collections", parents=[common], help="list the collections with their counts")
    c.add_argument("--json", action="store_true", help="the collections as one JSON object")
    c.set_defaults(func=cmd_index_collections)


def open_collection(settings: Settings, embedder: Embedder | None = None) -> Collection:
    from rag.collection import open_collection

    return open_collection(settings, embedder or loaded_embedder(settings), notify)


def cmd_index_add(args: argparse.Namespace) -> int:
    from index.ingest import counts, expand_paths, summary
    from index.store import stamp

    settings = settings_from(args)
    paths = expand_paths([Path(p) for p in args.paths], args.glob)
    collection = open_collection(settings)
    before: list[object] = []  # the index's stamp once the files are read (after any rebuild that comes first)

    def heard(result: FileResult) -> None:
        if not before:
            before.append(stamp(collection.index_dir))
        if not args.json:
            _print_result(result)

    try:
        index, results = collection.add(paths, on_result=heard)
    except KeyboardInterrupt:  # the lines above said "added" of files read, not yet saved
        saved = bool(before) and stamp(collection.index_dir) != before[0]
        notify(
            "interrupted after the index was saved: the files above were added"
            if saved
            else "interrupted before the index was saved: none of the files above was added"
        )
        return 130
    # None: a new collection that no file could be added to, so it was not made.
    totals = index.manifest.counts if index else {"documents": 0, "sections": 0, "passages": 0}
    if args.json:
        emit(
            {
                "files": [r.to_json() for r in results],
                "summary": counts(results),
                "counts": totals,
                "collection": settings.collection,
            }
        )
    else:
        print(f"{summary(results)}; {_totals(totals, settings.collection)}", flush=True)
    return 2 if any(r.unreadable for r in results) else 0


def _repair(name: str, error: str, folder: Path) -> str:
    """An unreadable collection's error with the repair that works for it (a named one: add its documents again)."""
    from cli.collection import lost_manifest
    from corpus.errors import REBUILD

    return error if name == DEFAULT_COLLECTION else error.replace(REBUILD, lost_manifest(name, folder))


def _print_result(result: FileResult) -> None:
    print(result.line(), flush=True)


def cmd_index_remove(args: argparse.Namespace) -> int:
    from index.documents import doc_id, find_document, removal_row
    from rag.collection import drop_upload

    settings = settings_from(args)
    collection = open_collection(settings)
    listed = collection.open(documents=False).manifest.documents
    # Every name checked before anything is removed; two names of one document remove it once.
    ids = list(dict.fromkeys(doc_id(find_document(listed, ref, settings.collection)) for ref in args.documents))
    for n, ref in enumerate(ids, start=1):
        index, record = collection.remove(ref)
        drop_upload(settings, record)  # as DELETE /documents/{id} does
        if args.json:
            emit(removal_row(record, len(index.manifest.documents) if index else 0, settings.collection))
            continue
        print(f"removed {record.name} (id {doc_id(record)}, {counted(record.sections, 'section')})")
        if index is None:
            print(f"collection {settings.collection} had no other document: it is removed")
        elif n == len(ids):
            print(_totals(index.manifest.counts, settings.collection))
    return 0


def _totals(counts: dict[str, int], name: str) -> str:
    where = "collection" if name == DEFAULT_COLLECTION else f"collection {name}"
    return f"{where}: {contents(counts)}"


def contents(counts: dict[str, int]) -> str:
    """An index's size in words: "2 documents, 1 section, 3 passages" (the manifest's counts)."""
    return ", ".join(counted(counts[k + "s"], k) for k in ("document", "section", "passage"))


def cmd_index_list(args: argparse.Namespace) -> int:
    from index.documents import document_row, remove_command
    from rag.collection import read_manifest
    from rag.config import collection_dir

    settings = settings_from(args)
    rows = [document_row(r) for r in read_manifest(settings).documents]
    if args.json:
        emit({"index_dir": str(collection_dir(settings)), "documents": rows, "collection": settings.collection})
        return 0
    for row in rows:
        tag = "  (default corpus)" if row["default"] else ""
        if not row["file_exists"]:
            remove = remove_command(str(row["id"]), settings.collection)
            tag += f"  (file gone: answered from its indexed copy; `{remove}` drops it)"
        print(f"{row['id']:<24} {counted(row['sections'], 'section'):>14}  {row['name']}{tag}  [{row['path']}]")
    return 0


def cmd_index_collections(args: argparse.Namespace) -> int:
    from rag.collection import summaries

    settings = settings_from(args)
    rows = summaries(settings)
    for row in rows:  # an unreadable collection's repair, as it works for that collection
        if "error" in row:
            row["error"] = _repair(str(row["name"]), str(row["error"]), Path(str(row["path"])))
    if args.json:
        emit({"index_dir": str(settings.index_dir), "collections": rows})
        return 0
    if not rows:
        print(f"no collection under {settings.index_dir} yet (the first `askdoc ask` builds the default one)")
    for row in rows:
        if "error" in row:
            name = str(row["name"])
            print(f"{name:<24} unreadable: {row['error']}")
            continue
        print(
            f"{row['name']:<24} {counted(row['documents'], 'document'):>15} {counted(row['sections'], 'section'):>15} "
            f"{counted(row['passages'], 'passage'):>16}  [{row['path']}]"
        )
    return 0
