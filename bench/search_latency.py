"""Index build time and search latency per mode on the default corpus (CPU unless ASKDOC_DEVICE says).

    python bench/search_latency.py [--builds 1] [--repeat 3]

Prints medians. Latency is per query, in process, with models loaded (what a batch client or the API sees);
every mode runs on the same questions in the same process so the figures compare.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from eval.dataset import DEFAULT_QUERIES, load_questions
from eval.metrics import percentile
from index.collection import Collection
from index.embed import Embedder
from rag.config import MODES, Settings
from rag.rerank import reranker_dir
from rag.retrieve import Retriever, embedder_for


def _copy_trained(source: Settings, target: Settings) -> None:
    """The reranker trained for the index at ASKDOC_INDEX_DIR (if any) fits a fresh copy of the same corpus: put
    it beside that copy, where the product looks for it (so it runs as trained ones do: ONNX on a CPU)."""
    trained = reranker_dir(source.index_dir)
    if trained.is_dir() and not source.reranker_model:
        shutil.copytree(trained, reranker_dir(target.index_dir))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--builds", type=int, default=1, help="index builds to time (fresh directory each)")
    ap.add_argument("--repeat", type=int, default=3, help="passes over the question set per mode")
    args = ap.parse_args()

    base = Settings.from_env()
    t = time.perf_counter()
    embedder = embedder_for(base)  # the product's choice (embed_backend auto: ONNX Runtime on a CPU)
    embedder.warm_up()
    print(f"embedder load ({embedder.backend.name}): {time.perf_counter() - t:.2f} s")
    builds = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.builds):
            settings = base.replace(index_dir=Path(tmp) / f"idx{i}")
            t = time.perf_counter()
            index = Collection(
                settings.index_dir, settings.corpus_path, embedder, settings.faiss_kind, progress=False
            ).build()
            builds.append(time.perf_counter() - t)
        counts = index.manifest.counts
        print(
            f"index build (parse+chunk+embed+FAISS+BM25+save): median {statistics.median(builds):.2f} s over "
            f"{len(builds)} build(s); {counts['sections']} sections, {counts['passages']} passages"
        )

        _copy_trained(base, settings)
        retriever = Retriever(settings, embedder=embedder, progress=False)
        retriever.warm_up()
        questions = [q.question for q in load_questions(DEFAULT_QUERIES)]
        # The baseline in the same run: hybrid without typo correction (index/spelling.py), on the same index.
        plain = Retriever(retriever.settings.replace(spell_correct=False), embedder=embedder, index=retriever.index)
        # And the sentence-transformers (torch) embedder, which embed_backend "torch" and GPUs use.
        torch = Embedder(base.embed_model, base.device, backend="torch")
        torch.warm_up()
        on_torch = Retriever(retriever.settings, embedder=torch, index=retriever.index)
        runs = [(mode, retriever) for mode in MODES if mode != "auto"]  # auto is one of the two it names
        runs += [("hybrid, no typo correction", plain), (f"hybrid, {torch.backend.name} embedder", on_torch)]
        for label, searcher in runs:
            mode = label.split(",")[0]
            if mode == "rerank" and not searcher.rerank_stage.ready(searcher.index):
                print(f"search rerank : skipped ({searcher.rerank_stage.error})")
                continue
            times = _latencies(searcher, mode, questions, args.repeat)
            print(
                f"search {label:7s}: p50 {percentile(times, 50):6.2f} ms  p95 {percentile(times, 95):6.2f} ms  "
                f"({len(times)} queries)"
            )


def _latencies(retriever: Retriever, mode: str, questions: list[str], repeat: int) -> list[float]:
    retriever.search(questions[0], mode=mode)
    times = []
    for _ in range(repeat):
        for q in questions:
            t = time.perf_counter()
            retriever.search(q, mode=mode)
            times.append((time.perf_counter() - t) * 1000)
    return times


if __name__ == "__main__":
    main()
