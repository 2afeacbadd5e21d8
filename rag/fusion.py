"""Fusing rankings of the same items. A strategy is a function: rankings in, fused scores out."""

from __future__ import annotations

from collections.abc import Sequence

Ranking = Sequence[tuple[int, float]]  # (item, score), best first


def reciprocal_rank_fusion(rankings: Sequence[Ranking], k: int = 60) -> dict[int, float]:
    """Score = sum over rankings of 1 / (k + rank). Uses ranks only, so incomparable scores fuse safely."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, (item, _) in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused


def weighted_fusion(rankings: Sequence[Ranking], weights: Sequence[float] | None = None) -> dict[int, float]:
    """Weighted sum of min-max normalised scores; an item missing from a ranking gets 0 from it."""
    weights = weights or [1.0] * len(rankings)
    fused: dict[int, float] = {}
    for ranking, w in zip(rankings, weights, strict=True):
        if not ranking:
            continue
        scores = [s for _, s in ranking]
        lo, hi = min(scores), max(scores)
        span = hi - lo or 1.0
        for item, s in ranking:
            fused[item] = fused.get(item, 0.0) + w * (s - lo) / span
    return fused
