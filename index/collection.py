"""Which documents make up the collection, and keeping the on-disk index in step with them.

Takes plain arguments rather than settings: the index layer sits below the one that reads the configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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

Notify = Callable[[str], None]  # progress and warnings for a person; the one such type of the project


def quiet(_: str) -> None:
    """The Notify that says nothing."""


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


@dataclass
class Collection:
    """The on-disk index of one collection: where it lives, its default document, and how it is embedded."""

    index_dir: Path
    corpus_path: Path  # the default document, indexed on first use
    embedder: Embedder
    faiss_kind: str = "flat"
    notify: Notify = quiet
    progress: bool = True

    def stale_reasons(self, manifest: store.Manifest) -> list[str]:
        reasons = []
        embed_model = self.embedder.model_id
        if manifest.embed_model != embed_model:
            reasons.append(f"built with embedder {manifest.embed_model!r}, settings ask for {embed_model!r}")
        if manifest.chunker != ChunkConfig().version:
            reasons.append(f"chunked by {manifest.chunker}, this askdoc chunks by {ChunkConfig().version}")
        if manifest.faiss_kind != self.faiss_kind:
            reasons.append(f"FAISS index is {manifest.faiss_kind!r}, settings ask for {self.faiss_kind!r}")
        for record in manifest.documents:
            path = Path(record.path)
            if not path.is_file():
                if record.default:
                    reasons.append(f"default corpus {path} is gone")
                continue  # a user document that moved away keeps its sections until it is removed
            if file_sha256(path) != record.sha256:
                reasons.append(f"{record.name} changed since the index was built")
        defaults = [Path(r.path) for r in manifest.documents if r.default]
        if defaults != [self.corpus_path.resolve()]:
            reasons.append(f"default corpus is not {self.corpus_path}")
        return reasons

    def build(self, previous: StoredIndex | None = None) -> StoredIndex:
        """(Re)build from the default corpus plus every user document the previous index held."""
        docs = [_read(self.corpus_path, "", default=True)]
        if previous is not None:
            for record in previous.manifest.documents:
                if not record.default and Path(record.path).is_file():
                    docs.append(_read(Path(record.path), record.id_prefix, default=False))
        index = self._save(docs, previous)
        counts = index.manifest.counts
        self.notify(f"indexed {counts['sections']} sections as {counts['passages']} passages into {self.index_dir}")
        return index

    def _save(self, docs: list[tuple[Document, DocumentRecord]], previous: StoredIndex | None) -> StoredIndex:
        with store.build_lock(self.index_dir):
            index = build_index(docs, self.embedder, self.faiss_kind, previous=previous, progress=self.progress)
            store.save(index, self.index_dir)
        return index

    def open(self) -> StoredIndex:
        """Load the index; build it when there is none, rebuild it (saying why) when it is stale.

        A corrupt index is not silently replaced: the user may want to look at it; the error says how to rebuild.
        """
        if not (self.index_dir / store.MANIFEST).exists() and not self.index_dir.exists():
            self.notify(f"no index at {self.index_dir} yet: building it (first run only)")
            return self.build()
        index = store.load(self.index_dir)
        reasons = self.stale_reasons(index.manifest)
        if reasons:
            self.notify("index is out of date (" + "; ".join(reasons) + "): rebuilding")
            return self.build(previous=index)
        return index

    def add(self, paths: list[Path]) -> StoredIndex:
        """Add or replace user documents. An unchanged file is a no-op; a changed one replaces its sections."""
        if not paths:
            raise InvalidInputError("give at least one file to add")
        index = self.open()
        docs = _changed_documents(index, paths, self.notify)
        if not docs:
            return index
        merged = [_reread(record) for record in index.manifest.documents if record.path not in docs]
        merged.extend(docs.values())
        return self._save(merged, index)


def _changed_documents(
    index: StoredIndex, paths: list[Path], notify: Notify
) -> dict[str, tuple[Document, DocumentRecord]]:
    """The given files that are new or changed, by resolved path; the others are said and skipped."""
    by_path = {r.path: r for r in index.manifest.documents}
    used_prefixes = {r.id_prefix for r in index.manifest.documents}
    docs: dict[str, tuple[Document, DocumentRecord]] = {}
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
    return docs


def _reread(record: DocumentRecord) -> tuple[Document, DocumentRecord]:
    """A document the index already holds, read again so the rebuilt index keeps it."""
    if record.default:
        return _read(Path(record.path), "", default=True)
    if Path(record.path).is_file():
        return _read(Path(record.path), record.id_prefix, default=False)
    raise IndexLoadError(f"{record.path} was indexed but is gone; rebuild to drop it")


def _new_prefix(path: Path, used: set[str]) -> str:
    base = candidate = slugify(path.stem)
    n = 1
    while candidate + "/" in used:
        n += 1
        candidate = f"{base}-{n}"
    return candidate + "/"
