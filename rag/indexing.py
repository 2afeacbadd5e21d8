"""Which documents make up the collection, and keeping the on-disk index in step with them and the settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from corpus.chunk import ChunkConfig
from corpus.errors import IndexLoadError, InvalidInputError
from corpus.ids import slugify
from corpus.model import Document
from corpus.parse import file_sha256, read_document
from index import store
from index.build import build_index
from index.embed import Embedder
from index.store import DocumentRecord, StoredIndex
from rag.config import Settings

Notify = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def _read(path: Path, id_prefix: str, default: bool) -> tuple[Document, DocumentRecord]:
    doc = read_document(path, id_prefix)
    record = DocumentRecord(
        path=str(path.resolve()),
        name=doc.name,
        sha256=doc.sha256,
        id_prefix=id_prefix,
        sections=len(doc.sections),
        default=default,
    )
    return doc, record


def stale_reasons(manifest: store.Manifest, settings: Settings) -> list[str]:
    reasons = []
    if manifest.embed_model != settings.embed_model:
        reasons.append(f"built with embedder {manifest.embed_model!r}, settings ask for {settings.embed_model!r}")
    if manifest.chunker != ChunkConfig().version:
        reasons.append(f"chunked by {manifest.chunker}, this askdoc chunks by {ChunkConfig().version}")
    if manifest.faiss_kind != settings.faiss_kind:
        reasons.append(f"FAISS index is {manifest.faiss_kind!r}, settings ask for {settings.faiss_kind!r}")
    for record in manifest.documents:
        path = Path(record.path)
        if not path.is_file():
            if record.default:
                reasons.append(f"default corpus {path} is gone")
            continue  # a user document that moved away keeps its sections until it is removed
        if file_sha256(path) != record.sha256:
            reasons.append(f"{record.name} changed since the index was built")
    defaults = [Path(r.path) for r in manifest.documents if r.default]
    if defaults != [settings.corpus_path.resolve()]:
        reasons.append(f"default corpus is not {settings.corpus_path}")
    return reasons


def build(
    settings: Settings,
    embedder: Embedder,
    notify: Notify = _quiet,
    progress: bool = True,
    previous: StoredIndex | None = None,
) -> StoredIndex:
    """(Re)build from the default corpus plus every user document the previous index held."""
    docs = [_read(settings.corpus_path, "", default=True)]
    if previous is not None:
        for record in previous.manifest.documents:
            if not record.default and Path(record.path).is_file():
                docs.append(_read(Path(record.path), record.id_prefix, default=False))
    with store.build_lock(settings.index_dir):
        index = build_index(docs, embedder, settings.faiss_kind, previous=previous, progress=progress)
        store.save(index, settings.index_dir)
    notify(
        f"indexed {index.manifest.counts['sections']} sections as {index.manifest.counts['passages']} "
        f"passages into {settings.index_dir}"
    )
    return index


def open_index(
    settings: Settings, embedder: Embedder, notify: Notify = _quiet, progress: bool = True
) -> StoredIndex:
    """Load the index; build it when there is none, rebuild it (saying why) when it is stale.

    A corrupt index is not silently replaced: the user may want to look at it; the error says how to rebuild.
    """
    if not (settings.index_dir / store.MANIFEST).exists() and not settings.index_dir.exists():
        notify(f"no index at {settings.index_dir} yet: building it (first run only)")
        return build(settings, embedder, notify, progress)
    index = store.load(settings.index_dir)
    reasons = stale_reasons(index.manifest, settings)
    if reasons:
        notify("index is out of date (" + "; ".join(reasons) + "): rebuilding")
        return build(settings, embedder, notify, progress, previous=index)
    return index


def add_documents(
    settings: Settings, embedder: Embedder, paths: list[Path], notify: Notify = _quiet, progress: bool = True
) -> StoredIndex:
    """Add or replace user documents. An unchanged file is a no-op; a changed one replaces its sections."""
    if not paths:
        raise InvalidInputError("give at least one file to add")
    index = open_index(settings, embedder, notify, progress)
    by_path = {r.path: r for r in index.manifest.documents}
    used_prefixes = {r.id_prefix for r in index.manifest.documents}
    docs: dict[str, tuple[Document, DocumentRecord]] = {}
    changed = False
    for path in paths:
        key = str(path.resolve())
        old = by_path.get(key)
        if old is not None and old.default:
            notify(f"{path}: is the default corpus, already indexed")
            continue
        prefix = old.id_prefix if old else _new_prefix(path, used_prefixes)
        used_prefixes.add(prefix)
        doc, record = _read(path, prefix, default=False)
        if old is not None and old.sha256 == record.sha256:
            notify(f"{path}: unchanged, nothing to do")
            continue
        notify(f"{path}: {'replacing' if old else 'adding'} {len(doc.sections)} sections")
        docs[key] = (doc, record)
        changed = True
    if not changed:
        return index
    keep = [r for r in index.manifest.documents if r.path not in docs]
    merged = []
    for record in keep:
        if record.default:
            merged.append(_read(Path(record.path), "", default=True))
        elif Path(record.path).is_file():
            merged.append(_read(Path(record.path), record.id_prefix, default=False))
        else:
            raise IndexLoadError(f"{record.path} was indexed but is gone; rebuild to drop it")
    merged.extend(docs.values())
    with store.build_lock(settings.index_dir):
        new = build_index(merged, embedder, settings.faiss_kind, previous=index, progress=progress)
        store.save(new, settings.index_dir)
    return new


def _new_prefix(path: Path, used: set[str]) -> str:
    base = candidate = slugify(path.stem)
    n = 1
    while candidate + "/" in used:
        n += 1
        candidate = f"{base}-{n}"
    return candidate + "/"
