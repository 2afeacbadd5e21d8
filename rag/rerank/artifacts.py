"""Where the reranker model lives and whether it fits the collection: the one place that decides.

* `reranker_model` set (env ASKDOC_RERANKER_MODEL): that local folder, any sentence-transformers CrossEncoder.
* otherwise the domain reranker trained by `askdoc reranker train` (rag.rerank.train). It lives in a sibling
  of the index directory, `<index_dir>.reranker/`, not inside it: an index rebuild swaps the whole index
  directory, and a reranker that is still valid must survive that. Its manifest records the corpus_hash of
  the index it was trained for; one trained for another corpus is not used (is_current()).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from corpus.errors import ModelNotFoundError
from corpus.ids import DEFAULT_COLLECTION
from index.atomic import read_json_object, staged_dir
from rag.config import Settings, collection_dir

RERANKER_MANIFEST = "reranker_manifest.json"


class RerankerUnavailable(ModelNotFoundError):
    pass


def reranker_dir(index_dir: Path) -> Path:
    """Where the trained reranker of an index lives: `<index_dir>.reranker/`, beside the index."""
    index_dir = Path(index_dir)
    return index_dir.parent / f"{index_dir.name}.reranker"


def read_reranker_manifest(directory: Path) -> dict[str, Any] | None:
    return read_json_object(directory / RERANKER_MANIFEST)


def is_current(manifest: dict[str, Any] | None, corpus_hash: str) -> bool:
    """Whether a trained reranker (its manifest, None when there is none) was trained for this collection."""
    return manifest is not None and manifest.get("corpus_hash") == corpus_hash


def reranker_status(settings: Settings, corpus_hash: str) -> dict[str, Any]:
    """What mode rerank would use for an index: {"state": configured | current | stale | missing, "path", ...}."""
    if settings.reranker_model:
        return {"state": "configured", "path": settings.reranker_model}
    path = reranker_dir(collection_dir(settings))
    manifest = read_reranker_manifest(path)
    if manifest is None:
        return {"state": "missing", "path": str(path)}
    state = "current" if is_current(manifest, corpus_hash) else "stale"
    keep = ("created_at", "train_seconds", "final_loss", "steps")
    return {"state": state, "path": str(path), **{k: manifest[k] for k in keep if k in manifest}}


def train_hint(settings: Settings) -> str:
    """The command that trains a reranker for the settings' collection, as it can be run."""
    named = f" --collection {settings.collection}" if settings.collection != DEFAULT_COLLECTION else ""
    return f"run `askdoc reranker train{named}`"


STALE = "trained for another version of the collection"


def locate(settings: Settings, corpus_hash: str) -> Path:
    """The folder to load for an index, or RerankerUnavailable saying why there is none."""
    status = reranker_status(settings, corpus_hash)
    path = Path(status["path"])
    if status["state"] == "configured":
        path = path.expanduser()
        if not path.is_dir():
            raise RerankerUnavailable(f"reranker_model {str(path)!r} is not a folder")
    if status["state"] == "missing":
        raise RerankerUnavailable(f"no trained reranker at {path}: {train_hint(settings)}")
    if status["state"] == "stale":
        raise RerankerUnavailable(f"the reranker at {path} was {STALE}: {train_hint(settings)}")
    return path


def save_trained(directory: Path, save_model: Callable[[Path], None], manifest: dict[str, Any]) -> None:
    """Write a trained model and its manifest, replacing what `directory` held only once both are written."""
    with staged_dir(directory) as tmp:
        save_model(tmp)
        (tmp / RERANKER_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
