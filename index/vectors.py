"""Dense vector search with FAISS over normalised embeddings (inner product = cosine)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import faiss
import numpy as np

# HNSW graph shape (faiss_kind "hnsw"): links per node, and the candidate list sizes used while building and
# while searching. They belong to the index format, not to a query, so they are not settings.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 128


def build_faiss(vectors: np.ndarray, kind: str = "flat") -> faiss.Index:
    dim = vectors.shape[1]
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(vectors)
    return index


def save_faiss(index: faiss.Index, path: Path) -> None:
    try:
        faiss.write_index(index, str(path))
    except RuntimeError as exc:
        # faiss reports a failed write (a full disk) as a C++ error whose text ends in strerror(): give it back
        # its errno, so the writer can say it in words like any other failed write.
        code = next((c for c in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) if os.strerror(c) in str(exc)), None)
        if code is None:
            raise
        raise OSError(code, os.strerror(code), str(path)) from None


def load_faiss(path: Path) -> faiss.Index:
    return faiss.read_index(str(path))


def search_faiss(index: faiss.Index, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(row ids, cosine scores) best first."""
    if index.ntotal == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    scores, ids = index.search(query.reshape(1, -1).astype(np.float32), min(k, index.ntotal))
    keep = ids[0] >= 0
    return ids[0][keep].astype(np.int64), scores[0][keep]
