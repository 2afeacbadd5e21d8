"""Which documents make up the collection, and keeping the on-disk index in step with them.

Takes plain arguments rather than settings: the index layer sits below the one that reads the configuration.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from corpus.chunk import ChunkConfig
from corpus.errors import IndexWriteError, InvalidInputError
from corpus.ids import doc_prefix
from corpus.model import Document
from corpus.parse import MAX_DOCUMENT_BYTES, file_sha256, load_file
from index import collections, store
from index.atomic import discard
from index.build import build_index, update_index
from index.documents import (
    DEFAULT_ID,
    doc_id,
    find_document,
    new_prefix,
    read_with_record,
    record_for,
    remove_command,
)
from index.embed import Embedder
from index.ingest import FileResult
from index.kinds import EXACT_BELOW, resolve_kind
from index.lexical import TOKENIZER
from index.store import DocumentRecord, StoredIndex

Notify = Callable[[str], None]  # progress and warnings for a person; the one such type of the project


def _split_by(rule: str) -> str:
    """The stale reason of an index whose BM25 split words by another rule than index.lexical.TOKENIZER."""
    return f"its keyword index splits words by the {rule!r} rule, not {TOKENIZER!r}"


def quiet(_: str) -> None:
    """The Notify that says nothing."""


@dataclass
class Collection:
    """The on-disk index of one collection: where it lives, its default document, and how it is embedded."""

    index_dir: Path
    corpus_path: Path | None  # the default document, indexed on first use; None: a named collection (starts empty)
    embedder: Embedder
    faiss_kind: str = ""  # "": as the index was last built, "auto" for a new one (see request())
    notify: Notify = quiet
    progress: bool = True
    max_document_bytes: int = MAX_DOCUMENT_BYTES
    exact_below: int = EXACT_BELOW  # faiss_kind "auto": exact search below this many passages
    name: str = collections.DEFAULT

    def stale_reasons(self, manifest: store.Manifest, documents: bool = True) -> list[str]:
        """Why the index must be rebuilt; `documents`: an added document whose file changed counts too."""
        reasons = []
        embed_model = self.embedder.model_id
        if manifest.embed_model != embed_model:
            reasons.append(f"built with embedder {manifest.embed_model!r}, settings ask for {embed_model!r}")
        if manifest.chunker != ChunkConfig().version:
            reasons.append(f"chunked by {manifest.chunker}, this askdoc chunks by {ChunkConfig().version}")
        if manifest.tokenizer != TOKENIZER:
            reasons.append(_split_by(manifest.tokenizer))
        wanted = resolve_kind(self.request(manifest), manifest.counts.get("passages", 0), self.exact_below)
        if manifest.faiss_kind != wanted:
            reasons.append(f"FAISS index is {manifest.faiss_kind!r}, settings ask for {wanted!r}")
        for record in manifest.documents:
            path = Path(record.path)
            if record.default and not path.is_file():
                reasons.append(f"default corpus {path} is gone")
            elif record.default and file_sha256(path) != record.sha256:
                reasons.append(f"{record.name} changed since the index was built")
        if documents:
            reasons += [f"{r.name} changed since the index was built" for r in self.changed_documents(manifest)]
        defaults = [Path(r.path) for r in manifest.documents if r.default]
        if defaults != ([self.corpus_path.resolve()] if self.corpus_path else []):
            reasons.append(f"default corpus is not {self.corpus_path}")
        return reasons

    @staticmethod
    def changed_documents(manifest: store.Manifest) -> list[DocumentRecord]:
        """The added documents whose file changed since they were indexed (one that moved away keeps its sections
        until it is removed)."""
        return [r for r in manifest.documents if not r.default and current_sha256(Path(r.path)) not in (None, r.sha256)]

    def request(self, manifest: store.Manifest | None) -> str:
        """The FAISS kind to build: the one asked for, else the one the index was built with ("auto" when new)."""
        return self.faiss_kind or (manifest.faiss_request if manifest is not None else "auto")

    def build(self, previous: StoredIndex | None = None, documents: Sequence[DocumentRecord] = ()) -> StoredIndex:
        """(Re)build from the default corpus plus every user document the previous index held (or, when only its
        manifest can be read, the `documents` it lists: their files are read again, nothing of the old index is)."""
        docs = [read_with_record(self.corpus_path, "", default=True)] if self.corpus_path else []
        for record in previous.manifest.documents if previous is not None else documents:
            if record.default:
                continue
            doc = _reread(record, self.max_document_bytes, previous, self.notify)
            docs += [doc] if doc else []
        if not docs:
            raise collections.not_found(self.name)
        index = self._save(docs, previous)
        counts = index.manifest.counts
        self.notify(f"indexed {counts['sections']} sections as {counts['passages']} passages into {self.index_dir}")
        return index

    def _save(self, docs: list[tuple[Document, DocumentRecord]], previous: StoredIndex | None) -> StoredIndex:
        with store.build_lock(self.index_dir, self.notify):
            return self._write(docs, previous)

    def _write(self, docs: list[tuple[Document, DocumentRecord]], previous: StoredIndex | None) -> StoredIndex:
        """Build from `docs` and save (the caller holds the build lock)."""
        collections.check_unmoved(self.index_dir)
        index = build_index(
            docs,
            self.embedder,
            self.request(previous.manifest if previous is not None else None),
            previous=previous,
            progress=self.progress,
            exact_below=self.exact_below,
        )
        store.save(index, self.index_dir)
        return index

    def open(self, documents: bool = True) -> StoredIndex:
        """Load the index; build it when there is none, rebuild it (saying why) when it is stale.

        A corrupt index is not silently replaced: the user may want to look at it; the error says how to rebuild.
        `documents=False`: a changed added document is not a reason (add and remove deal with documents).
        """
        if not (self.index_dir / store.MANIFEST).exists() and self._nothing_there():
            self.require()
            self.notify(f"no index at {self.index_dir} yet: building it (first run only)")
            return self.build()
        index = store.load(self.index_dir)
        reasons = self.stale_reasons(index.manifest, documents=False)
        if reasons:
            self.notify("index is out of date (" + "; ".join(reasons) + "): rebuilding")
            if reasons != [_split_by(index.manifest.tokenizer)]:
                return self.build(previous=index)
            # Only BM25 is out of date: rebuilt from the stored passages, nothing re-read (a document whose file
            # moved away keeps its sections, as everywhere else); a document edited since is then re-read below.
            with store.build_lock(self.index_dir, self.notify):
                index = self._update(index, index.manifest.documents, [])
        changed = self.changed_documents(index.manifest) if documents else []
        return self._refresh(index, changed) if changed else index

    def _refresh(self, opened: StoredIndex, changed: list[DocumentRecord]) -> StoredIndex:
        """Re-read the added documents whose files changed, as `index add` would: only their sections are
        replaced, and one that cannot be read now (emptied, half-written, not text) keeps its indexed version
        rather than leaving the collection."""
        self.notify("; ".join(f"{r.name} changed since the index was built" for r in changed) + ": re-reading")
        try:
            with store.build_lock(self.index_dir, self.notify):
                index = self._current(opened)
                results, docs = self._plan(index, [Path(r.path) for r in changed], lambda _: None)
                for result in results:
                    if result.status == "skipped":
                        self.notify(f"{result.path}: {result.reason}")
                return self._apply(index, docs) if docs else index
        except IndexWriteError as exc:  # a read-only index still answers, from the version it holds
            self.notify(f"{exc}: answering from the indexed version")
            return opened

    def _nothing_there(self) -> bool:
        """No folder, or (the default collection) an empty one made ahead of time: nothing in it to keep. A folder
        that cannot be read is not taken for empty."""
        if not self.index_dir.exists():
            return True
        if self.corpus_path is None:
            return False  # a named collection starts from `index add`, never from an empty folder
        try:
            with os.scandir(self.index_dir) as entries:
                return next(entries, None) is None
        except OSError:
            return False

    def require(self) -> None:
        """CollectionNotFoundError for a named collection that has no index (the default one is built instead)."""
        if self.corpus_path is None and not self.index_dir.exists():
            raise collections.not_found(self.name)

    def add(
        self, paths: list[Path], on_result: Callable[[FileResult], None] | None = None
    ) -> tuple[StoredIndex | None, list[FileResult]]:
        """Add or replace documents, one result per file (`on_result` hears each as soon as it is known).

        An unchanged file is a no-op, a changed one replaces its sections, a file whose content is already indexed
        under another name is skipped as a duplicate, an unreadable one is skipped with the reason; only the new
        documents' passages are chunked and embedded. Nothing is written when no file changes anything.
        A named collection that does not exist yet is made (None: no file could be added, so it was not).
        """
        if not paths:
            raise InvalidInputError("give at least one file to add")
        if self.corpus_path is None and not (self.index_dir / store.MANIFEST).exists():
            collections.make_room(self.index_dir.parent, self.notify)
            opened = None
        else:
            opened = self.open(documents=False)  # built or rebuilt first when needed (that takes the lock itself)
        with store.build_lock(self.index_dir, self.notify):
            # A new collection: another `add` may have made it while this one waited for the lock.
            index = self._current(opened) if opened else _existing(self.index_dir)
            results, docs = self._plan(index, paths, on_result or (lambda _: None))
            if not docs:
                return index, results
            if index is None:  # a new collection
                return self._write(list(docs.values()), None), results
            return self._apply(index, docs), results

    def _apply(self, index: StoredIndex, docs: dict[str, tuple[Document, DocumentRecord]]) -> StoredIndex:
        """`index` with the read documents (by resolved path) replacing their old versions or joining it."""
        known = {r.path for r in index.manifest.documents}
        # A document whose file is gone and whose content a read file now holds was moved there: its old record goes.
        moved = {record.sha256 for _, record in docs.values()}
        records = [docs[r.path][1] if r.path in docs else r for r in index.manifest.documents]
        records = [r for r in records if r.path in docs or r.sha256 not in moved or Path(r.path).exists()]
        records += [record for key, (_, record) in docs.items() if key not in known]
        return self._update(index, records, [doc for doc, _ in docs.values()])

    def remove(self, ref: str) -> tuple[StoredIndex | None, DocumentRecord]:
        """Remove one added document (by id, name or path): its sections, passages and vectors go.

        A named collection left without documents is deleted (None): an index holds at least one passage."""
        opened = self.open(documents=False)
        with store.build_lock(self.index_dir, self.notify):
            index = self._current(opened)
            record = find_document(index.manifest.documents, ref, self.name)
            records = [r for r in index.manifest.documents if r is not record]
            if not records:
                discard(self.index_dir)
                return None, record
            return self._update(index, records, []), record

    def _current(self, opened: StoredIndex) -> StoredIndex:
        """The index as it is on disk now: another writer may have saved one since `opened` was loaded."""
        if store.read_manifest(self.index_dir).to_dict() == opened.manifest.to_dict():
            return opened
        return store.load(self.index_dir)

    def _update(self, index: StoredIndex, records: list[DocumentRecord], added: list[Document]) -> StoredIndex:
        collections.check_unmoved(self.index_dir)
        kind = self.request(index.manifest)
        new = update_index(index, records, added, self.embedder, kind, self.progress, self.exact_below)
        store.save(new, self.index_dir)
        return new

    def _plan(
        self, index: StoredIndex | None, paths: list[Path], on_result: Callable[[FileResult], None]
    ) -> tuple[list[FileResult], dict[str, tuple[Document, DocumentRecord]]]:
        """Each file read and judged; the new or changed ones by resolved path."""
        records = index.manifest.documents if index else []
        by_path = {r.path: r for r in records}
        by_sha = {r.sha256: r for r in records}
        # Documents whose file is gone, by content: a new file holding one is that file moved (only then is a new
        # file hashed before it is read).
        gone = {r.sha256: r for r in records if not r.default and not Path(r.path).exists()}
        used = {r.id_prefix for r in records} | {DEFAULT_ID + "/"}
        docs: dict[str, tuple[Document, DocumentRecord]] = {}
        results = []
        seen: set[Path] = set()
        for path in paths:
            where = path.resolve()
            if where in seen:  # "sub/../a.txt a.txt": one file, two spellings
                result = FileResult(str(path), "skipped", "the same file as an earlier one of this add")
            else:
                result = self._judge(path, by_path, by_sha, gone, used, docs)
            seen.add(where)
            results.append(result)
            on_result(result)
        return results, docs

    def _judge(
        self,
        path: Path,
        by_path: dict[str, DocumentRecord],
        by_sha: dict[str, DocumentRecord],
        gone: dict[str, DocumentRecord],
        used: set[str],
        docs: dict[str, tuple[Document, DocumentRecord]],
    ) -> FileResult:
        key = str(path.resolve())
        old = by_path.get(key)
        if old is not None and old.default:
            return FileResult(str(path), "skipped", "it is the default corpus, already indexed")
        # A new path with the content of a document whose file is gone: that file moved here; it keeps its id.
        moved = gone.get(current_sha256(path) or "") if gone and not old else None
        prefix = old.id_prefix if old else moved.id_prefix if moved else new_prefix(path, used)
        # An indexed file that cannot be read now is still answered from: the reason says so.
        kept = (
            f"; the index keeps the version it has (`{remove_command(doc_id(old), self.name)}` drops it)" if old else ""
        )
        try:
            doc = load_file(path, prefix, self.max_document_bytes)
        except InvalidInputError as exc:
            return FileResult(str(path), "skipped", f"{exc}{kept}", unreadable=True)
        except OSError as exc:
            reason = f"cannot read it ({exc.strerror or exc.__class__.__name__}){kept}"
            return FileResult(str(path), "skipped", reason, unreadable=True)
        if old is not None and old.sha256 == doc.sha256:
            return FileResult(str(path), "unchanged", document=doc_id(old), sections=old.sections)
        twin = by_sha.get(doc.sha256)
        was_gone = twin is not None and gone.get(twin.sha256) is twin
        if twin is not None and twin.path != key and not was_gone:
            return FileResult(str(path), "skipped", f"duplicate of {twin.name} (same content, id {doc_id(twin)})")
        moved_from = twin.path if twin is not None and was_gone else ""  # _apply drops its record
        used.add(prefix)
        record = record_for(path, doc, prefix, default=False)
        docs[key] = (doc, record)
        by_sha[doc.sha256] = record
        status = "replaced" if old or moved_from else "added"
        return FileResult(str(path), status, document=doc_id(record), sections=len(doc.sections), moved_from=moved_from)


def current_sha256(path: Path) -> str | None:
    """The content hash of the file at `path` now (None when there is no such file), hashed again only when its
    modification time or size changed: a server checks its documents at every request."""
    try:
        st = path.stat()
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    if time.time_ns() - st.st_mtime_ns < RACY_NS:  # written just now: another write may follow within the same tick
        return file_sha256(path)
    return _sha256_at(str(path), st.st_mtime_ns, st.st_size)


# A file modified this recently is hashed afresh: a second write in the same timestamp tick with the same size
# would otherwise look unchanged (git's "racily clean" files).
RACY_NS = 2_000_000_000


@lru_cache(maxsize=4096)
def _sha256_at(path: str, mtime_ns: int, size: int) -> str:
    return file_sha256(Path(path))


def _existing(index_dir: Path) -> StoredIndex | None:
    return store.load(index_dir) if (index_dir / store.MANIFEST).exists() else None


def _reread(
    record: DocumentRecord, max_bytes: int, previous: StoredIndex | None, notify: Notify
) -> tuple[Document, DocumentRecord] | None:
    """A document the index already holds, read again so the rebuilt index keeps it. One whose file is gone or
    cannot be read now keeps the sections `previous` holds (None: there are none to keep)."""
    if record.default:
        return read_with_record(Path(record.path), "", default=True)
    try:
        return read_with_record(Path(record.path), record.id_prefix, default=False, max_bytes=max_bytes)
    except (InvalidInputError, OSError) as exc:
        why = str(exc) if isinstance(exc, InvalidInputError) else f"{record.path}: cannot read it ({exc.strerror})"
        kept = [s for s in previous.sections.values() if doc_prefix(s.id) == record.id_prefix] if previous else []
        if not kept:
            notify(f"dropping {record.name} from the index: {why}")
            return None
        notify(f"{why}; the rebuilt index keeps the version it had")
        return Document(record.name, record.sha256, kept), record
