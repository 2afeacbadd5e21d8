"""The one place a Collection (index.collection) is made from settings: the CLI, the API and the retriever all
come here, so the folder, the default document and the limits are read the same way everywhere."""

from __future__ import annotations

from pathlib import Path

from corpus.errors import IndexLoadError
from corpus.ids import DEFAULT_COLLECTION
from index import collections, store
from index.collection import Collection, Notify, quiet
from index.embed import Embedder
from index.store import DocumentRecord
from rag.config import Settings, collection_dir


def open_collection(
    settings: Settings, embedder: Embedder, notify: Notify = quiet, progress: bool = True
) -> Collection:
    """The settings' collection; only the default one holds the bundled guide, a named one starts empty."""
    name = settings.collection
    return Collection(
        collection_dir(settings),
        settings.corpus_path if name == DEFAULT_COLLECTION else None,
        embedder,
        settings.faiss_kind,
        notify,
        progress,
        settings.max_document_bytes,
        name=name,
        exact_below=settings.faiss_exact_below,
    )


def uploads_dir(index_dir: Path, collection: str = DEFAULT_COLLECTION) -> Path:
    """Beside the folder of indexes (an index directory is replaced whole): the default collection's uploads at
    the top, where they always were, another collection's in a sub-folder of its name (upload names have a suffix,
    collection names none: they cannot clash)."""
    top = index_dir.parent / f"{index_dir.name}.documents"
    return top if collection == DEFAULT_COLLECTION else top / collection


def drop_upload(settings: Settings, record: DocumentRecord) -> None:
    """Delete a removed document's file when it is an upload's copy (a user's own file is left alone)."""
    path = Path(record.path)
    if path.parent == uploads_dir(settings.index_dir, settings.collection).resolve():
        path.unlink(missing_ok=True)


def require_collection(settings: Settings) -> None:
    """CollectionNotFoundError when the settings name a collection that has no index (as Collection.require), before
    anything loads: `askdoc serve --collection NAME` says so in one line rather than failing in its workers."""
    if settings.collection != DEFAULT_COLLECTION and not collection_dir(settings).exists():
        raise collections.not_found(settings.collection)


def read_manifest(settings: Settings) -> store.Manifest:
    """The manifest of the settings' collection, without loading its index (a named one not made yet: an error
    that says how to make it)."""
    directory = collection_dir(settings)
    if settings.collection != DEFAULT_COLLECTION and not (directory / store.MANIFEST).exists():
        raise collections.not_found(settings.collection)
    return store.read_manifest(directory)


def summaries(settings: Settings) -> list[dict[str, object]]:
    """Each collection under the settings' folder of indexes with its counts, the default first; one whose
    manifest cannot be read says why (`error`) rather than hiding the others."""
    rows: list[dict[str, object]] = []
    for name in collections.names(settings.index_dir):
        directory: Path = collections.collection_dir(settings.index_dir, name)
        try:
            rows.append({"name": name, "path": str(directory), **store.read_manifest(directory).counts})
        except IndexLoadError as exc:
            rows.append({"name": name, "path": str(directory), "error": str(exc)})
    return rows
