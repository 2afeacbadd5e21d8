"""Which FAISS index a collection gets (no faiss import here: the settings check these names at start-up)."""

from __future__ import annotations

# "auto" is never stored: it resolves to "flat" (exact) below EXACT_BELOW passages and to "ivf" from there on.
KINDS = ("auto", "flat", "hnsw", "ivf")
# Where exact search stops being fast: one-thread IndexFlatIP p50 is 4-5 ms at 50,000 vectors, ~9 ms at 100,000
# and ~75 ms at 1M (bench/scale.py, bench/results/scale_1m_ivf_sq8_calm.md), where IVF-SQ8 takes ~2 ms.
EXACT_BELOW = 50_000


def resolve_kind(kind: str, passages: int, exact_below: int = EXACT_BELOW) -> str:
    """The stored kind for a collection of `passages` ("auto" picks by size)."""
    if kind != "auto":
        return kind
    return "flat" if passages < exact_below else "ivf"
