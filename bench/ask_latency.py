"""End-to-end `ask` latency per LLM backend on dev-set questions (models loaded once, CPU unless
ASKDOC_DEVICE says otherwise).

    python bench/ask_latency.py [--backends llama.cpp,transformers] [--n 40]

Prints, per backend, p50/p95 of the whole ask (retrieve + context + generate + verify), p50 time to first
token, and what share of answers ended generated / extractive / refused. Backends run on the same questions in
the same process, so the figures compare.
"""

from __future__ import annotations

import argparse
from collections import Counter

from eval.dataset import DEFAULT_QUERIES, load_questions
from eval.metrics import percentile
from rag.config import Settings
from rag.pipeline import AskDoc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", default="llama.cpp,transformers")
    ap.add_argument("--n", type=int, default=40, help="questions (every k-th of the dev set)")
    args = ap.parse_args()
    questions = load_questions(DEFAULT_QUERIES)
    step = max(1, len(questions) // args.n)
    sample = [q.question for q in questions[::step]][: args.n]
    shared = None
    for backend in args.backends.split(","):
        askdoc = AskDoc(Settings.from_env(llm_backend=backend), retriever=shared, progress=False)
        askdoc.warm_up()
        shared = askdoc.retriever
        askdoc.ask(sample[0])  # warm caches
        totals, first, modes = [], [], Counter()
        for q in sample:
            answer = askdoc.ask(q)
            totals.append(answer.timings["total"])
            if "first_token" in answer.timings:
                first.append(
                    answer.timings["first_token"]
                    + answer.timings.get("retrieve_total", 0)
                    + answer.timings.get("context", 0)
                )
            modes[answer.mode] += 1
        share = ", ".join(f"{m} {c / len(sample):.0%}" for m, c in sorted(modes.items()))
        print(
            f"{backend:12s} ask p50 {percentile(totals, 50) / 1000:.2f} s  p95 {percentile(totals, 95) / 1000:.2f} s  "
            f"first token p50 {percentile(first, 50) / 1000:.2f} s  ({len(sample)} questions: {share})"
        )


if __name__ == "__main__":
    main()
