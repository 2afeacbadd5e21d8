"""Calibrate the refusal threshold (settings.refuse_below) on the tune split of the dev set.

    python -m eval.calibrate [--queries FILE] [--split tune]

Prints, for each candidate threshold, the share of unanswerable questions refused and of answerable ones
refused by mistake, and the threshold that maximises balanced accuracy. Never run it on the test split to pick
a value: that split is for reporting.
"""

from __future__ import annotations

import argparse

import numpy as np

from eval.dataset import DEFAULT_QUERIES, load_questions, resolve
from rag.config import Settings
from rag.context import select_context
from rag.retrieve import Retriever


def confidences(retriever: Retriever, questions: list) -> list[tuple[bool, float]]:  # type: ignore[type-arg]
    out = []
    for q in questions:
        result = retriever.search(q.question)
        qvec = retriever.embedder.embed([q.question])[0]
        _, conf = select_context(q.question, qvec, result.hits, retriever.index, retriever.embedder)
        out.append((q.answerable, conf))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queries", default=str(DEFAULT_QUERIES))
    ap.add_argument("--split", default="tune")
    args = ap.parse_args()
    from pathlib import Path

    retriever = Retriever(Settings.from_env(), progress=False)
    retriever.warm_up()
    questions = [q for q in load_questions(Path(args.queries)) if q.split == args.split]
    resolve(questions, retriever.index.sections)
    rows = confidences(retriever, questions)
    a = np.array([c for ok, c in rows if ok])
    u = np.array([c for ok, c in rows if not ok])
    print(f"{len(a)} answerable, {len(u)} unanswerable ({args.split} split)")
    best = (0.0, -1.0)
    for t in np.round(np.arange(0.40, 0.76, 0.02), 2):
        refused, false = float((u < t).mean()), float((a < t).mean())
        balanced = (refused + 1 - false) / 2
        best = max(best, (float(t), balanced), key=lambda x: x[1])
        print(f"refuse_below={t:.2f}  unanswerable refused {refused:.3f}  answerable refused {false:.3f}  "
              f"balanced accuracy {balanced:.3f}")
    print(f"best: refuse_below={best[0]:.2f} (balanced accuracy {best[1]:.3f})")


if __name__ == "__main__":
    main()
