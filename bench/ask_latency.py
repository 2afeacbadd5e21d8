"""End-to-end `ask` latency per answer style on dev-set questions (models loaded once; CPU unless ASKDOC_DEVICE
says otherwise).

    python bench/ask_latency.py [--styles extractive,generate,select,copy] [--backend llama.cpp] [--n 40]

Prints, per style, p50/p95 of the whole ask, p50/p95 of the time to the first verified sentence a user sees (the
first streamed event), and what share of answers ended generated / extractive / refused. Styles run on the same
questions in the same process, so the figures compare.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from eval.dataset import DEFAULT_QUERIES, load_questions
from eval.metrics import percentile
from rag.config import Settings
from rag.pipeline import AskDoc, FinalEvent


def timed(askdoc: AskDoc, question: str, style: str) -> tuple[float, float, str]:
    """(total ms, ms to the first event shown, mode)."""
    start = time.perf_counter()
    first = None
    for event in askdoc.ask_stream(question, style=style):
        if first is None:
            first = (time.perf_counter() - start) * 1000
        if isinstance(event, FinalEvent):
            mode = event.answer.mode
    total = (time.perf_counter() - start) * 1000
    return total, first or total, mode


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--styles", default="extractive,generate,select,copy")
    ap.add_argument("--backend", default="llama.cpp")
    ap.add_argument("--n", type=int, default=40, help="questions (every k-th of the dev set)")
    args = ap.parse_args()
    questions = load_questions(DEFAULT_QUERIES)
    step = max(1, len(questions) // args.n)
    sample = [q.question for q in questions[::step]][: args.n]
    askdoc = AskDoc(Settings.from_env(llm_backend=args.backend), progress=False)
    askdoc.warm_up()
    for q in sample:  # warm the sentence-vector cache once, so every style sees the same (server) state
        askdoc.ask(q, style="extractive")
    for style in args.styles.split(","):
        rows = [timed(askdoc, q, style) for q in sample]
        totals, firsts = [r[0] for r in rows], [r[1] for r in rows]
        modes = Counter(r[2] for r in rows)
        share = ", ".join(f"{m} {c / len(sample):.0%}" for m, c in sorted(modes.items()))
        print(
            f"{style:10s} ask p50 {percentile(totals, 50) / 1000:.2f} s  p95 {percentile(totals, 95) / 1000:.2f} s  "
            f"first sentence p50 {percentile(firsts, 50) / 1000:.2f} s  p95 {percentile(firsts, 95) / 1000:.2f} s"
            f"  ({len(sample)} questions: {share})",
            flush=True,
        )


if __name__ == "__main__":
    main()
