"""Where first-stage searches run: the retriever asks a SearchBackend for dense and lexical top-k passage rows.

The on-disk index (index.store) stays the source of truth: sections, passages, vectors and the BM25 vocabulary
are always read from it. A backend only answers "these rows, with these scores, best first" for one index; its
row ids are the index's passage rows. `faiss` (the default) searches the index's own FAISS and bm25s structures;
`milvus` mirrors the passages into a Milvus collection (index.milvus_backend) and searches there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from corpus.errors import IndexLoadError, InvalidInputError

if TYPE_CHECKING:  # rag.config reads BACKENDS: importing it must not load FAISS (a quick `askdoc --help`)
    import numpy as np

    from index.store import StoredIndex

BACKENDS = ("faiss", "milvus")


class SearchBackend(Protocol):
    def dense(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(passage rows, cosine scores) best first, for a normalised query vector."""
        ...

    def lexical(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(passage rows, BM25 scores) best first; rows that match no query term are left out."""
        ...


def open_backend(
    kind: str, index: StoredIndex, milvus_uri: str = "", keep: SearchBackend | None = None
) -> SearchBackend:
    """The backend `kind` for `index`; `milvus_uri` is a Milvus server URI or a Milvus Lite `.db` file; `keep`:
    the backend of the index served until now, whose data must outlive this one's opening."""
    if kind == "faiss":
        from index.faiss_backend import FaissBackend

        return FaissBackend(index)
    if kind == "milvus":
        try:  # pymilvus is imported only when it is asked for
            from index.milvus_backend import MilvusBackend
        except ImportError as exc:
            raise IndexLoadError(
                f"index_backend milvus needs {exc.name or 'pymilvus'}: pip install 'askdoc[milvus]'"
            ) from None
        return MilvusBackend(index, milvus_uri, keep=getattr(keep, "collection", ""))
    raise InvalidInputError(f"unknown index_backend {kind!r}; choose one of {', '.join(BACKENDS)}")
