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

# IVF (faiss_kind "ivf"): 4·√n inverted lists of 8-bit scalar-quantised vectors (a quarter of float32: 1M
# passages x 384 dims ~0.4 GB), nprobe lists searched per query. Chosen over HNSW for large collections because
# faiss memory-maps IVF lists (IO_FLAG_MMAP), so the workers of `askdoc serve --workers N` share one copy in the
# page cache; HNSW and flat indexes are read into each process. nprobe 128 of ~4,000 lists at 1M vectors: recall@10
# vs exact 0.943 at 64 was short of the 0.95 goal (bench/results/scale_1m.md, scale_1m_ivf_sq8.md).
IVF_NPROBE = 128
# k-means on a sample, not on all of 1M (minutes less on 2 cores); the recall in bench/results was measured with
# this same sample size (12 rows per list at 1M, below faiss's advice of 39: hence min_points_per_centroid).
IVF_TRAIN_SAMPLE = 50_000


def ivf_lists(n: int) -> int:
    # 4·√n, but no more lists than n / 39 (a small collection would get near-empty lists).
    return max(1, min(int(4 * np.sqrt(n)), n // 39))


def build_faiss(vectors: np.ndarray, kind: str = "flat") -> faiss.Index:
    dim = vectors.shape[1]
    if kind == "ivf":
        return _build_ivf(vectors)
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(vectors)
    return index


def _build_ivf(vectors: np.ndarray) -> faiss.Index:
    n, dim = vectors.shape
    index = faiss.index_factory(dim, f"IVF{ivf_lists(n)},SQ8", faiss.METRIC_INNER_PRODUCT)
    index.cp.min_points_per_centroid = 1  # no "please provide more training points" warning on stderr
    index.nprobe = IVF_NPROBE  # stored in the file
    if n:
        rows = np.random.default_rng(0).choice(n, size=min(n, IVF_TRAIN_SAMPLE), replace=False)
        index.train(np.ascontiguousarray(vectors[np.sort(rows)]))
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
    # IVF lists are memory-mapped (processes loading the same file share its pages); flat and HNSW indexes
    # are read into memory whatever the flag says (faiss-cpu 1.15).
    return faiss.read_index(str(path), faiss.IO_FLAG_MMAP)


def search_faiss(index: faiss.Index, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(row ids, cosine scores) best first."""
    if index.ntotal == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    scores, ids = index.search(query.reshape(1, -1).astype(np.float32), min(k, index.ntotal))
    keep = ids[0] >= 0
    return ids[0][keep].astype(np.int64), scores[0][keep]
