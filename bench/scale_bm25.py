"""bm25s at scale (part of bench/scale.py): N GENERATED passages, index time, RAM, query p50, in memory and mmap.

The passages are drawn word by word from the collection's own token frequencies (its BM25 tokens, stemmed,
stopwords out) with the real passages' lengths, so the vocabulary and its Zipf tail are the collection's; the
queries are the dev-set questions, tokenized as the product tokenizes them.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter

import bm25s
import numpy as np
from procinfo import status_mib
from scale import load_avg

from eval.dataset import DEFAULT_QUERIES, load_questions
from eval.metrics import percentile
from index.lexical import tokenize
from index.store import load
from rag.config import Settings


def generated(n: int, seed: int = 0) -> tuple[list[list[str]], list[str]]:
    """n token lists drawn from the collection's word frequencies and passage lengths; and its vocabulary."""
    passages = load(Settings.from_env().index_dir).passages
    token_lists = [tokenize(p.indexed_text) for p in passages]
    counts = Counter(t for tokens in token_lists for t in tokens)
    vocab = list(counts)
    p = np.array([counts[w] for w in vocab], dtype=np.float64)
    rng = np.random.default_rng(seed)
    lengths = rng.choice([max(1, len(t)) for t in token_lists], size=n)
    words = rng.choice(len(vocab), size=int(lengths.sum()), p=p / p.sum())
    ends = np.cumsum(lengths)
    # Lists of the vocabulary's own str objects: no per-token string is allocated.
    return [[vocab[i] for i in words[e - length : e]] for e, length in zip(ends, lengths, strict=True)], vocab


def _query_p50(model: bm25s.BM25, queries: list[list[str]]) -> tuple[float, float]:
    times = []
    for q in queries:
        t = time.perf_counter()
        model.retrieve([q], k=50, show_progress=False)
        times.append((time.perf_counter() - t) * 1000)
    return percentile(times, 50), percentile(times, 95)


def run_bm25(n: int, out: list[str]) -> None:
    t = time.perf_counter()
    corpus, vocab = generated(n)
    print(
        f"generated {n} passages ({sum(map(len, corpus)):,} tokens, vocabulary {len(vocab):,}) in "
        f"{time.perf_counter() - t:.1f} s",
        flush=True,
    )
    known = set(vocab)
    questions = [q.question for q in load_questions(DEFAULT_QUERIES)]
    queries = [[t for t in tokenize(q) if t in known] for q in questions]
    queries = [q for q in queries if q]
    before = status_mib()
    t = time.perf_counter()
    model = bm25s.BM25()
    model.index(corpus, show_progress=False)
    index_s = time.perf_counter() - t
    grown = status_mib() - before
    del corpus
    p50, p95 = _query_p50(model, queries)
    rows = [("in memory", index_s, grown, p50, p95)]
    with tempfile.TemporaryDirectory() as tmp:
        model.save(tmp, show_progress=False)
        del model
        before = status_mib()
        mapped = bm25s.BM25.load(tmp, mmap=True, show_progress=False)
        p50, p95 = _query_p50(mapped, queries)
        rows.append(("loaded with mmap=True", 0.0, status_mib() - before, p50, p95))
        del mapped
    out += [
        f"## bm25s {bm25s.__version__} at {n:,} GENERATED passages (collection vocabulary and word frequencies, "
        f"real passage lengths); {len(queries)} dev-set questions, k=50",
        "",
        "| bm25s index | index s | RSS +MB | query p50 ms | query p95 ms | load avg (1/5/15 min) |",
        "|---|---|---|---|---|---|",
    ]
    for label, seconds, mb, q50, q95 in rows:
        row = f"| {label} | {seconds:.1f} | {mb:.0f} | {q50:.2f} | {q95:.2f} | {load_avg()} |"
        print(row, flush=True)
        out.append(row)
    out.append("")
