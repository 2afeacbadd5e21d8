"""How sure a figure is: 95 % bootstrap intervals over questions, for one system's mean and for the difference of
two systems on the same questions (paired).

The dev set's test split has 123 answerable and 27 unanswerable questions, so one question moves hit@1 by 0.008
and the refusal rate by 0.037; many choices in this project turned on one or two of them. An interval says
whether a gap is larger than drawing another set of questions like these would make it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import bootstrap

LEVEL = 0.95
RESAMPLES = 5000
SEED = 0  # a fixed seed: the same report twice gives the same intervals


def interval(values: Sequence[float]) -> tuple[float, float]:
    """The percentile bootstrap interval of the mean of `values` (one per question, NaN for none); NaN for no
    values, a point when every value is the same (resampling cannot move it)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]  # a question where the measure is undefined is left out, as from the mean
    if v.size == 0:
        return (float("nan"), float("nan"))
    if np.all(v == v[0]):
        return (float(v[0]), float(v[0]))
    # Percentile rather than BCa: BCa needs a jackknife that degenerates on the 0/1 columns most metrics here are.
    result = bootstrap(
        (v,),
        np.mean,
        n_resamples=RESAMPLES,
        confidence_level=LEVEL,
        method="percentile",
        rng=np.random.default_rng(SEED),
    )
    ci = result.confidence_interval
    return (float(ci.low), float(ci.high))


def paired_difference(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    """Mean of a - b over the same questions, with its interval: resampling questions keeps each pair together,
    so what both systems get right or wrong alike does not widen it."""
    if len(a) != len(b):
        raise ValueError(f"paired values need the same questions ({len(a)} vs {len(b)})")
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    low, high = interval(diff)
    return (float(diff.mean()) if diff.size else float("nan"), low, high)
