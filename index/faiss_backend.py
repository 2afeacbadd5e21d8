"""The default search backend: the index's own FAISS vectors and bm25s BM25, in this process."""

from __future__ import annotations

import numpy as np

from index.store import StoredIndex
from index.vectors import search_faiss


class FaissBackend:
    def __init__(self, index: StoredIndex) -> None:
        self.index = index

    def dense(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return search_faiss(self.index.faiss, vector, k)

    def lexical(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.index.lexical.search(query, k)
