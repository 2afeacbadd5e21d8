"""`askdoc index build|info` and `askdoc reranker train`: the on-disk collection and the model trained on it.
(`askdoc index add|remove|list`: cli/documents.py.)"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from cli import documents
from cli.common import bounded, emit, loaded_embedder, notify, settings_from
from corpus.errors import AskdocError
from corpus.ids import DEFAULT_COLLECTION
from corpus.text import counted
from index.kinds import KINDS as FAISS_KINDS
from rag.config import Settings

if TYPE_CHECKING:
    from pathlib import Path

    from index.embed import Embedder
    from index.store import DocumentRecord, StoredIndex


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("index", help="build or extend the index")
    isub = p.add_subparsers(dest="index_command", required=True, metavar="ACTION")
    b = isub.add_parser(
        "build", parents=[common], help="build the collection's index (the default one also holds the guide)"
    )
    b.add_argument("--rebuild", action="store_true", help="rebuild even when the index is up to date")
    b.add_argument(
        "--faiss",
        choices=FAISS_KINDS,
        help="FAISS index kind, kept by later commands (default: as last built; a new index: auto, exact below "
        "50,000 passages, else ivf)",
    )
    b.add_argument(
        "--reranker",
        action="store_true",
        help="also train the domain reranker when missing or stale (done anyway when the mode is rerank)",
    )
    b.add_argument("--no-reranker", action="store_true", help="never train the reranker during a build")
    b.set_defaults(func=cmd_index_build)
    documents.register(isub, common)
    i = isub.add_parser("info", parents=[common], help="show what the index holds")
    i.add_argument("--json", action="store_true", help="the manifest and status as one JSON object")
    i.set_defaults(func=cmd_index_info)

    p = sub.add_parser("reranker", help="the cross-encoder of mode rerank")
    rsub = p.add_subparsers(dest="reranker_command", required=True, metavar="ACTION")
    t = rsub.add_parser("train", parents=[common], help="train it on the indexed collection (skipped when current)")
    t.add_argument("--epochs", type=bounded(0.01, 100, float), help="passes over the training groups (default 2.5)")
    t.add_argument("--steps", type=bounded(1, 1_000_000), help="exactly this many optimizer steps instead of --epochs")
    t.add_argument("--seed", type=int, help="random seed (default 13)")
    t.set_defaults(func=cmd_reranker_train)


def cmd_index_build(args: argparse.Namespace) -> int:
    from index.store import stamp

    settings = settings_from(args, faiss_kind=args.faiss)
    embedder = loaded_embedder(settings)
    collection = documents.open_collection(settings, embedder)
    if args.rebuild:
        previous, listed = _before_rebuild(collection.index_dir, settings.collection)
        index = collection.build(previous, listed)
    else:
        before = stamp(collection.index_dir)
        index = collection.open()
        if index.stamp == before:  # else open() (re)built it, and said why
            notify(f"index at {collection.index_dir} is up to date")
    # Training takes minutes on a CPU, so a build spends them only when mode rerank will use the model (or asked).
    if (args.reranker or settings.mode == "rerank") and not args.no_reranker:
        if settings.reranker_model:
            notify(f"using the reranker at {settings.reranker_model} (reranker_model): not training one")
        else:
            _train_reranker(settings, embedder, index)
    _print_info(index.manifest.to_dict(), settings)
    return 0


def _before_rebuild(index_dir: Path, name: str) -> tuple[StoredIndex | None, list[DocumentRecord]]:
    """What a rebuild keeps: the old index when it is readable, else the added documents its manifest lists. A
    named collection whose manifest is unreadable too cannot be rebuilt: its documents are unknown."""
    from corpus.errors import REBUILD, ManifestUnreadableError
    from index.store import load

    if not (index_dir / "manifest.json").exists():
        return None, []
    try:
        return load(index_dir), []
    except AskdocError as exc:
        problem = str(exc).removesuffix(f": {REBUILD}")
    listed = _listed_documents(index_dir, problem)
    if listed is None and name != DEFAULT_COLLECTION:
        raise ManifestUnreadableError(f"{problem}: {REBUILD}")  # cli.main turns the hint into what works
    if listed is None:
        notify(f"previous index unreadable ({problem}), its manifest too: rebuilding from the guide alone")
    return None, listed or []


def lost_manifest(name: str, folder: Path, options: str = "") -> str:
    """What to do when a named collection's manifest, the only list of its documents, cannot be read."""
    return (
        f"the list of its documents is lost with it: remove {folder} and add them again "
        f"(`askdoc index add{options} --collection {name} FILE …`)"
    )


def _listed_documents(index_dir: Path, problem: str) -> list[DocumentRecord] | None:
    """The added documents an unreadable index lists in its manifest (written last, so usually intact): a broken
    vector or BM25 file is derived data, and a rebuild reads those documents' files again. None: the manifest is
    unreadable too (the default collection is then rebuilt from the guide alone; a named one cannot be)."""
    from index.store import read_manifest

    try:
        listed = [r for r in read_manifest(index_dir).documents if not r.default]
    except AskdocError:
        return None
    added = f" with its {len(listed)} added document(s), read again" if listed else ""
    notify(f"previous index unreadable ({problem}): rebuilding it{added}")
    return listed


def _train_reranker(settings: Settings, embedder: Embedder, index: StoredIndex | None = None, **config: Any) -> None:
    from rag.rerank.train import TrainConfig, train_reranker
    from rag.retrieve import Retriever

    retriever = Retriever(settings, embedder=embedder, index=index, notify=notify)
    retriever.warm_up()
    out = train_reranker(retriever, TrainConfig(**{k: v for k, v in config.items() if v is not None}), notify)
    notify(f"reranker: {out}")


def cmd_reranker_train(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    _train_reranker(settings, loaded_embedder(settings), steps=args.steps, epochs=args.epochs, seed=args.seed)
    return 0


def cmd_index_info(args: argparse.Namespace) -> int:
    from rag.collection import read_manifest
    from rag.config import collection_dir

    settings = settings_from(args)
    manifest = read_manifest(settings).to_dict()
    if args.json:
        reranker = _reranker_status(settings, manifest)
        extra = {"reranker": reranker, "embed_backend": _embed(settings), "mode": _mode(settings, reranker)}
        where = {"index_dir": str(collection_dir(settings)), "collection": settings.collection}
        emit({**where, **manifest, **extra})
    else:
        _print_info(manifest, settings)
    return 0


def _print_info(manifest: dict[str, Any], settings: Settings) -> None:
    from rag.config import collection_dir
    from rag.rerank.artifacts import STALE, train_hint

    counts = manifest["counts"]
    name = "" if settings.collection == DEFAULT_COLLECTION else f" (collection {settings.collection})"
    print(f"index:     {collection_dir(settings)}{name}")
    print(f"built:     {manifest['created_at']}")
    print(f"embedder:  {manifest['embed_model']} (dim {manifest['embed_dim']}, FAISS {manifest['faiss_kind']})")
    backend = _embed(settings)
    where = f", {backend['path']}: {backend['state']}" if "path" in backend else ""
    print(f"backend:   {backend['backend'] or backend.get('error')} (embed_backend {backend['setting']}{where})")
    print(f"chunker:   {manifest['chunker']}")
    print(f"contents:  {documents.contents(counts)}")
    for doc in manifest["documents"]:
        tag = " (default corpus)" if doc["default"] else ""
        print(f"  - {doc['name']}: {counted(doc['sections'], 'section')}{tag}  [{doc['path']}]")
    status = _reranker_status(settings, manifest)
    detail = {
        "missing": f"not trained: {train_hint(settings)}",
        "stale": f"{STALE}: {train_hint(settings)}",
        "configured": "set by reranker_model",
    }.get(status["state"], f"trained {status.get('created_at', '?')} in {status.get('train_seconds', '?')} s")
    print(f"reranker:  {status['path']} ({detail})")
    mode = _mode(settings, status)
    why = (
        ""
        if mode == settings.mode
        else f" (mode {settings.mode}: {'a reranker fits' if mode == 'rerank' else 'no reranker fits'})"
    )
    print(f"mode:      {mode}{why}")


def _mode(settings: Settings, reranker: dict[str, Any]) -> str:
    """The retrieval mode searches will use: mode auto is rerank when a reranker fits the collection."""
    if settings.mode != "auto":
        return settings.mode
    return "rerank" if reranker["state"] in ("current", "configured") else "hybrid"


def _embed(settings: Settings) -> dict[str, Any]:
    """The embedding backend the settings choose here (cheap: nothing is loaded)."""
    from index.embed import pick_device
    from index.embedders import backend_status, onnx_dir
    from index.models import resolve_model

    path, device = resolve_model(settings.embed_model), pick_device(settings.device)
    return backend_status(settings.embed_backend, settings.embed_model, path, device, onnx_dir(settings.index_dir))


def _reranker_status(settings: Settings, manifest: dict[str, Any]) -> dict[str, Any]:
    from rag.rerank import reranker_status

    return reranker_status(settings, manifest["corpus_hash"])
