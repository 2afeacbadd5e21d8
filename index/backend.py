"""Where first-stage searches run: the retriever asks a SearchBackend for dense and lexical top-k passage rows.

The on-disk index (index.store) stays the source of truth: sections, passages, vectors and the BM25 vocabulary
are always read from it. A backend only answers "these rows, with these scores, best first" for one index; its
row ids are the index's passage rows. `faiss` (the default) searches the index's own FAISS and bm25s structures;
`milvus` mirrors the passages into a Milvus collection (index.milvus_backend) and searches there.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from corpus.errors import InvalidInputError
from index.store import StoredIndex

BACKENDS = ("faiss", "milvus")


class SearchBackend(Protocol):
    def dense(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(passage rows, cosine scores) best first, for a normalised query vector."""
        ...

    def lexical(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(passage rows, BM25 scores) best first; rows that match no query term are left out."""
        ...


def open_backend(kind: str, index: StoredIndex, milvus_uri: str = "") -> SearchBackend:
    """The backend `kind` for `index`; `milvus_uri` is a Milvus server URI or a Milvus Lite `.db` file."""
    if kind == "faiss":
        from index.faiss_backend import FaissBackend

        return FaissBackend(index)
    if kind == "milvus":
        from index.milvus_backend import MilvusBackend  # pymilvus is imported only when it is asked for

        return MilvusBackend(index, milvus_uri)
    raise InvalidInputError(f"unknown index_backend {kind!r}; choose one of {', '.join(BACKENDS)}")
