"""The on-disk index: one directory with a manifest, section and passage records, vectors, FAISS and BM25.

Writes are atomic at the directory level (index.atomic): a build is written to a sibling temp directory and
swapped in by rename, so an interrupted build leaves the previous index usable. Loading validates every file and
raises IndexLoadError with a message that says what to do, never a raw library error.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from corpus.errors import REBUILD, IndexLoadError, ManifestUnreadableError
from corpus.model import Passage, Section
from corpus.text import counted
from index.atomic import staged_dir, write_error
from index.kinds import resolve_kind
from index.lexical import LexicalIndex
from index.sentences import SENTENCES_FILE, SentenceStore
from index.vectors import build_faiss, load_faiss, save_faiss

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


@dataclass
class DocumentRecord:
    path: str  # absolute path of the source file: the key for re-adding
    name: str
    sha256: str
    id_prefix: str
    sections: int
    default: bool = False  # the bundled corpus, re-checked on every load


@dataclass
class Manifest:
    embed_model: str
    embed_dim: int
    chunker: str
    faiss_kind: str
    documents: list[DocumentRecord]
    counts: dict[str, int]
    corpus_hash: str
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    format: int = FORMAT_VERSION
    # How BM25 split words (index.lexical.TOKENIZER); a manifest without the key predates the name: "ascii".
    tokenizer: str = "ascii"
    # The kind asked for ("auto" or a forced one; faiss_kind is what it resolved to): what later commands keep.
    faiss_request: str = "auto"
    # Nothing writes it, but it stays: every manifest.json on disk has the key (without the field, from_dict
    # would reject them) and `askdoc index info --json` prints it.
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["documents"] = [r.__dict__ for r in self.documents]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Manifest:
        d = dict(d)
        d["documents"] = [DocumentRecord(**r) for r in d["documents"]]
        if "faiss_request" not in d:  # written before the key: a kind auto would not pick was asked for
            picked = resolve_kind("auto", d["counts"].get("passages", 0))
            d["faiss_request"] = "auto" if d["faiss_kind"] == picked else d["faiss_kind"]
        return cls(**d)


def corpus_hash(documents: list[DocumentRecord]) -> str:
    import hashlib

    h = hashlib.sha256()
    for r in sorted(documents, key=lambda r: r.path):
        h.update(f"{r.path}\0{r.sha256}\n".encode())
    return h.hexdigest()


@dataclass
class StoredIndex:
    manifest: Manifest
    sections: dict[str, Section]
    passages: list[Passage]
    vectors: np.ndarray
    faiss: faiss.Index
    lexical: LexicalIndex
    directory: Path | None = None
    sentences: SentenceStore | None = None  # None: an index written before sentences.npz existed
    stamp: tuple[int, int] | None = None  # its manifest file's identity when it was loaded or saved: see stamp()


def stamp(directory: Path) -> tuple[int, int] | None:
    """(inode, mtime) of an index's manifest, None when there is none. A save swaps in a new directory, so the
    stamp changes with every write: a server compares it with the index it serves to see another process's."""
    try:
        st = (directory / MANIFEST).stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def assemble(
    manifest: Manifest,
    sections: list[Section],
    passages: list[Passage],
    vectors: np.ndarray,
    sentences: SentenceStore | None = None,
) -> StoredIndex:
    return StoredIndex(
        manifest=manifest,
        sections={s.id: s for s in sections},
        passages=passages,
        vectors=vectors,
        faiss=build_faiss(vectors, manifest.faiss_kind),
        lexical=LexicalIndex.build([p.indexed_text for p in passages]),
        sentences=sentences,
    )


@contextlib.contextmanager
def build_lock(directory: Path, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Serialise writers (two `askdoc index` commands at once) without blocking readers; `on_wait` hears, once,
    that another writer holds the lock and this one waits for it."""
    try:  # a read-only folder (a shared or mounted index) says so in one line, as a failed save would
        directory.parent.mkdir(parents=True, exist_ok=True)
        fh = open(directory.parent / f".{directory.name}.lock", "w")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise write_error(directory, exc) from None
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait(f"waiting for another askdoc that is changing {directory} to finish")
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def save(index: StoredIndex, directory: Path) -> None:
    with staged_dir(directory) as tmp:
        _write_jsonl(tmp / "sections.jsonl", (s.to_dict() for s in index.sections.values()))
        _write_jsonl(tmp / "passages.jsonl", (p.to_dict() for p in index.passages))
        np.save(tmp / "vectors.npy", index.vectors)
        save_faiss(index.faiss, tmp / "faiss.index")
        (tmp / "bm25").mkdir()
        index.lexical.save(tmp / "bm25")
        if index.sentences is not None:
            index.sentences.save(tmp / SENTENCES_FILE)
        # The manifest goes last: a directory without one is never taken for a finished index.
        (tmp / MANIFEST).write_text(json.dumps(index.manifest.to_dict(), indent=2) + "\n")
    index.directory = directory
    index.stamp = stamp(directory)


def _write_jsonl(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_manifest(directory: Path) -> Manifest:
    path = directory / MANIFEST
    if not directory.exists():
        raise IndexLoadError(f"no index at {directory}: run `askdoc index build`")
    try:
        return Manifest.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ManifestUnreadableError(f"{path} is missing: {REBUILD}") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise ManifestUnreadableError(f"{path} is corrupt ({exc.__class__.__name__}): {REBUILD}") from None


# What bm25s writes into bm25/, checked one by one when the folder does not load (to name the broken file).
BM25_FILES = (
    "params.index.json",
    "vocab.index.json",
    "data.csc.index.npy",
    "indices.csc.index.npy",
    "indptr.csc.index.npy",
)


class _Files:
    """The index files of a directory, as loaded (one of them broken: IndexLoadError naming it)."""

    def __init__(self, directory: Path) -> None:
        current = directory / "sections.jsonl"
        try:
            self.sections = [Section(**row) for row in _read_jsonl(current)]
            current = directory / "passages.jsonl"
            self.passages = [Passage(**row) for row in _read_jsonl(current)]
            current = directory / "vectors.npy"
            # Memory-mapped, like the FAISS IVF lists and BM25 (index.vectors, index.lexical): the workers of
            # `askdoc serve --workers N` share one copy in the page cache. Only `index add` reads it (to keep the
            # vectors of unchanged passages); a save writes new files, so a mapping never sees a change.
            self.vectors = np.load(current, allow_pickle=False, mmap_mode="r")
            current = directory / "faiss.index"
            if not current.is_file():
                raise FileNotFoundError(current)
            self.faiss = load_faiss(current)
            current = directory / "bm25"
            if not current.is_dir():
                raise FileNotFoundError(current)
            self.lexical = LexicalIndex.load(current, len(self.passages))
            current = current / BM25_FILES[0]
            self.bm25_documents = int(json.loads(current.read_text(encoding="utf-8"))["num_docs"])
            current = directory / SENTENCES_FILE  # optional (additive to format 1): absent in older indexes
            self.sentences = SentenceStore.load(current) if current.exists() else None
        except FileNotFoundError as exc:
            missing = Path(exc.filename) if exc.filename else current
            raise IndexLoadError(f"index file {missing} is missing: {REBUILD}") from None
        except Exception as exc:  # any parse/deserialisation failure means the same thing to the user
            if current.name == "bm25":
                current = _bm25_culprit(current)
            raise IndexLoadError(f"index file {current} is corrupt ({exc.__class__.__name__}): {REBUILD}") from None


def load(directory: Path) -> StoredIndex:
    seen = stamp(directory)  # before the files: a write that lands meanwhile shows as a newer stamp, read again
    manifest = read_manifest(directory)
    if manifest.format != FORMAT_VERSION:
        raise IndexLoadError(
            f"index file {directory / MANIFEST} has format {manifest.format}, this askdoc reads {FORMAT_VERSION}: "
            + REBUILD
        )
    files = _Files(directory)
    problems = _inconsistencies(manifest, files)
    if problems:
        raise IndexLoadError(f"index at {directory} is inconsistent: {'; '.join(problems)}: {REBUILD}")
    sections = {s.id: s for s in files.sections}
    return StoredIndex(
        manifest, sections, files.passages, files.vectors, files.faiss, files.lexical, directory, files.sentences, seen
    )


def _inconsistencies(manifest: Manifest, files: _Files) -> list[str]:
    """What does not fit together, each naming its file."""
    problems = []
    n = len(files.passages)
    if len(files.sections) != manifest.counts.get("sections"):
        said = manifest.counts.get("sections")
        problems.append(f"sections.jsonl holds {len(files.sections)} sections, {MANIFEST} says {said}")
    if n != manifest.counts.get("passages"):
        problems.append(f"passages.jsonl holds {n} passages, {MANIFEST} says {manifest.counts.get('passages')}")
    if files.vectors.shape != (n, manifest.embed_dim):
        problems.append(f"vectors.npy has shape {files.vectors.shape}, expected ({n}, {manifest.embed_dim})")
    if files.faiss.ntotal != n:
        problems.append(f"faiss.index holds {files.faiss.ntotal} vectors for {n} passages")
    if files.bm25_documents != n:
        problems.append(f"bm25/{BM25_FILES[0]} counts {files.bm25_documents} documents for {n} passages")
    ids = {s.id for s in files.sections}
    unknown = sorted({p.section_id for p in files.passages} - ids)
    if unknown:
        example = f"{unknown[0]!r}" + (", ..." if len(unknown) > 1 else "")
        missing = counted(len(unknown), "section")
        problems.append(f"passages.jsonl refers to {missing} missing from sections.jsonl ({example})")
    if files.sentences is not None:
        problems += files.sentences.problems(ids, manifest.embed_dim)
    return problems


def _bm25_culprit(folder: Path) -> Path:
    """The first file of the BM25 folder that does not parse on its own (the folder when each one does)."""
    for name in BM25_FILES:
        path = folder / name
        try:
            if name.endswith(".json"):
                json.loads(path.read_text(encoding="utf-8"))
            else:
                np.load(path, allow_pickle=False)
        except Exception:
            return path
    return folder


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
