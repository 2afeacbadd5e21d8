"""The Milvus search backend against the FAISS one, in one run: quality and latency on the dev set.

    python bench/milvus_vs_faiss.py [--repeat 3] [--milvus-uri URI] [--out bench/results/milvus.md]

Both backends serve the same index (ASKDOC_INDEX_DIR, built on first use) with the same embedder; Milvus runs on a
fresh Milvus Lite file in a temporary folder unless --milvus-uri names another. Per split (tune, test) and mode:
hit@1 and MRR@10 over the answerable questions, and how often the two backends put the same section first.
Latency is per search, question already embedded and spell-corrected (both identical for the two backends, so
only the search itself is timed), the backends interleaved question by question, over `--repeat` passes.
Also measured: Milvus's own hybrid_search (dense + BM25 in the engine, RRF or weighted ranker), which askdoc does
not use (it fuses with rag.fusion); its rows are grouped into sections the same way.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from eval.dataset import DEFAULT_QUERIES, EvalQuestion, load_questions, resolve
from eval.metrics import HitAtK, MRRAtK, percentile
from rag.config import Settings
from rag.retrieve import Retriever

MODES = ("dense", "bm25", "hybrid")
SPLITS = ("tune", "test")
K = 10
Search = Callable[[str, np.ndarray], list[str]]  # (prepared query, its vector) -> section ids, best first


def searches(faiss: Retriever, milvus: Retriever) -> dict[str, Search]:
    """Every column of the table: a label -> how it searches."""
    from pymilvus import RRFRanker, WeightedRanker

    def askdoc(r: Retriever, mode: str) -> Search:
        return lambda q, v: [h.section_id for h in r.search(q, k=K, mode=mode, vector=v, cleaned=True).hits]

    def native(ranker: object) -> Search:
        backend = milvus.backend(milvus.index)
        depth = max(milvus.settings.candidates, 4 * K)

        def run(q: str, v: np.ndarray) -> list[str]:
            rows, scores = backend.hybrid(v, q, depth, ranker)
            return [h.section_id for h in milvus.group(list(zip(rows.tolist(), scores.tolist(), strict=True)), K)]

        return run

    out = {f"{name} {mode}": askdoc(r, mode) for mode in MODES for name, r in (("faiss", faiss), ("milvus", milvus))}
    out["milvus hybrid_search RRF(60)"] = native(RRFRanker(60))
    out["milvus hybrid_search Weighted(0.5,0.5)"] = native(WeightedRanker(0.5, 0.5))
    out["milvus hybrid_search Weighted(0.5,0.5), raw scores"] = native(WeightedRanker(0.5, 0.5, norm_score=False))
    return out


def run(searches: dict[str, Search], questions: list[EvalQuestion], vectors: np.ndarray, repeat: int) -> dict:
    """label -> {"ids": [section ids per question], "ms": [latencies]}; labels interleaved per question."""
    out: dict[str, dict[str, list]] = {label: {"ids": [], "ms": []} for label in searches}
    for n in range(repeat):
        for q, v in zip(questions, vectors, strict=True):
            for label, search in searches.items():
                t = time.perf_counter()
                ids = search(q.question, v)
                out[label]["ms"].append((time.perf_counter() - t) * 1000)
                if n == 0:
                    out[label]["ids"].append(ids)
    return out


def rows(results: dict, questions: list[EvalQuestion]) -> list[list[str]]:
    answerable = [i for i, q in enumerate(questions) if q.answerable]
    table = []
    for label, r in results.items():
        hit = np.mean([HitAtK(1).compute(r["ids"][i], questions[i].expected) for i in answerable])
        mrr = np.mean([MRRAtK(K).compute(r["ids"][i], questions[i].expected) for i in answerable])
        backend, mode = label.split(" ", 1)
        twin = results.get(f"faiss {mode}")
        agree = "" if backend == "faiss" or twin is None else f"{_same_top(r['ids'], twin['ids']):.3f}"
        p50, p95 = percentile(r["ms"], 50), percentile(r["ms"], 95)
        table.append([label, f"{hit:.3f}", f"{mrr:.3f}", agree, f"{p50:.2f}", f"{p95:.2f}"])
    return table


def _same_top(a: list[list[str]], b: list[list[str]]) -> float:
    return float(np.mean([x[:1] == y[:1] for x, y in zip(a, b, strict=True)]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3, help="passes over each split (latency); quality from the first")
    ap.add_argument("--milvus-uri", default="", help="default: a fresh Milvus Lite file in a temporary folder")
    ap.add_argument("--out", type=Path, default=Path("bench/results/milvus.md"))
    args = ap.parse_args()
    settings = Settings.from_env()
    faiss = Retriever(settings.replace(index_backend="faiss"), progress=False)
    faiss.warm_up()
    with tempfile.TemporaryDirectory() as tmp:
        uri = args.milvus_uri or str(Path(tmp) / "askdoc.db")
        milvus = Retriever(
            settings.replace(index_backend="milvus", milvus_uri=uri), embedder=faiss.embedder, index=faiss.index
        )
        t = time.perf_counter()
        milvus.warm_up()  # connects, creates the collection and fills it from the stored vectors
        sync_s = time.perf_counter() - t
        lines = _header(settings, faiss, uri if args.milvus_uri else "a fresh Milvus Lite file", sync_s, args.repeat)
        for split in SPLITS:
            questions = [q for q in load_questions(DEFAULT_QUERIES) if q.split == split]
            resolve(questions, faiss.index.sections)
            for q in questions:
                q.question = faiss.prepare(q.question)[0]
            vectors = faiss.embedder.embed([q.question for q in questions])
            load = os.getloadavg()[0]
            table = rows(run(searches(faiss, milvus), questions, vectors, args.repeat), questions)
            lines += [
                f"### {split} split ({len(questions)} questions, {sum(q.answerable for q in questions)} answerable;"
                f" load average {load:.1f} at the start)",
                "",
                "| backend / mode | hit@1 | MRR@10 | same top-1 as FAISS | p50 ms | p95 ms |",
                "|---|---|---|---|---|---|",
                *["| " + " | ".join(r) + " |" for r in table],
                "",
            ]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")


def _header(settings: Settings, faiss: Retriever, where: str, sync_s: float, repeat: int) -> list[str]:
    import milvus_lite
    import pymilvus

    counts = faiss.index.manifest.counts
    return [
        "# Milvus vs FAISS search backend",
        "",
        f"`python bench/milvus_vs_faiss.py --repeat {repeat}`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; pymilvus "
        f"{pymilvus.__version__}, Milvus Lite {milvus_lite.__version__}; {counts['sections']} sections, "
        f"{counts['passages']} passages; fusion {settings.fusion}. Milvus: {where}, filled from the stored index in "
        f"{sync_s:.1f} s (no re-embedding). Latency: one search, question already embedded and spell-corrected, "
        f"{repeat} passes, the backends interleaved; 2 CPU cores shared with other work (load average below).",
        "",
    ]


if __name__ == "__main__":
    main()
