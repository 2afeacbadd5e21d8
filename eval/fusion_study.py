"""The retrieval ablation of issue 12: fusion variants scored offline on the dev set, per kind and split.

Every channel is scored once per question over the whole collection (dense over passages, BM25 over passages, the
heading embedded on its own, the best single sentence of a section), so each variant is arithmetic on cached
arrays. `hybrid` here is `Retriever.search` in mode hybrid: each retriever's top 30 passages fused by the
retriever's own `weighted_fusion`, a section scored by its best passage (same hit@1 as `askdoc eval`, MRR@10
within 0.001: ties). Variants were chosen on the tune split; the test split is only reported.

    python -m eval.fusion_study [--out eval/results/retrieval]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corpus.text import split_sentences
from eval.dataset import DEFAULT_QUERIES, load_questions, resolve
from eval.doc2query import QUESTIONS_FILE, QuestionCache, passage_hash
from eval.metrics import HitAtK, MRRAtK, NDCGAtK
from index.embed import Embedder
from index.lexical import LexicalIndex
from rag.config import Settings
from rag.fusion import weighted_fusion
from rag.retrieve import Retriever

DEPTH = 30  # passages per retriever before fusion, as Settings.candidates
METRICS = (HitAtK(1), MRRAtK(10), NDCGAtK(10))


@dataclass
class Channels:
    """Per question (rows), per passage or section (columns): the scores of each channel."""

    dense: np.ndarray  # question x passage cosine
    bm25: np.ndarray  # question x passage BM25
    heading: np.ndarray  # question x section cosine with the heading alone
    sentence: np.ndarray  # question x section: best cosine of one of its sentences
    owner: np.ndarray  # passage -> section column
    sections: list[str]
    d2q_dense: np.ndarray | None = None  # question x passage: best cosine of one of its generated questions
    d2q_bm25: np.ndarray | None = None  # question x passage: BM25 over the passage plus its generated questions


def top(scores: np.ndarray, positive: bool = True, depth: int = DEPTH) -> list[tuple[int, float]]:
    """A retriever's ranking: its best `depth` items (BM25 leaves out rows that match no word: `positive`)."""
    rows = np.argsort(-scores, kind="stable")[:depth]
    return [(int(j), float(scores[j])) for j in rows if not positive or scores[j] > 0]


def fused(rankings: list[list[tuple[int, float]]], weights: list[float], size: int) -> np.ndarray:
    """rag.fusion.weighted_fusion, the retriever's own, as an array over all items (absent: 0)."""
    out = np.zeros(size)
    for item, score in weighted_fusion(rankings, weights).items():
        out[item] = score
    return out


def best_passage(ch: Channels, passage_scores: np.ndarray) -> np.ndarray:
    out = np.full(len(ch.sections), -np.inf)
    np.maximum.at(out, ch.owner, passage_scores)
    return out


def score_channels(retriever: Retriever, questions: list[str]) -> Channels:
    index = retriever.index
    sections = list(index.sections)
    column = {sid: j for j, sid in enumerate(sections)}
    embed = retriever.embedder.embed
    q = embed(questions)
    sentences, owners = [], []
    for sid in sections:
        for text in dict.fromkeys(split_sentences(index.sections[sid].text)):
            sentences.append(text)
            owners.append(column[sid])
    sentence = np.full((len(questions), len(sections)), -1.0)
    sims = q @ embed(sentences).T
    for row in range(len(questions)):
        np.maximum.at(sentence[row], np.array(owners), sims[row])
    return Channels(
        dense=q @ index.vectors.T,
        bm25=np.stack([index.lexical.scores(text) for text in questions]),
        heading=q @ embed([index.sections[sid].heading for sid in sections]).T,
        sentence=sentence,
        owner=np.array([column[p.section_id] for p in index.passages]),
        sections=sections,
    )


def expansion_channels(retriever: Retriever, q: np.ndarray, questions: list[str], cache: QuestionCache) -> tuple:
    """(d2q_dense, d2q_bm25): the passages' generated questions as vectors and as extra words."""
    passages = retriever.index.passages
    generated = [cache.get(passage_hash(p.indexed_text)) for p in passages]
    rows = np.array([row for row, qs in enumerate(generated) for _ in qs], dtype=np.int64)
    dense = np.full((len(questions), len(passages)), -1.0)
    if len(rows):
        sims = q @ retriever.embedder.embed([g for qs in generated for g in qs]).T
        for i in range(len(questions)):
            np.maximum.at(dense[i], rows, sims[i])
    lexical = LexicalIndex.build(
        [p.indexed_text + "\n" + "\n".join(qs) for p, qs in zip(passages, generated, strict=True)]
    )
    return dense, np.stack([lexical.scores(text) for text in questions])


def hybrid(ch: Channels, i: int, w: float = 0.5) -> np.ndarray:
    rankings = [top(ch.dense[i], positive=False), top(ch.bm25[i])]
    return best_passage(ch, fused(rankings, [w, 1 - w], len(ch.owner)))


def with_heading(ch: Channels, i: int, weight: float = 0.2, w: float = 0.6) -> np.ndarray:
    """The heading channel: the question matched to each heading on its own (a question-to-question match)."""
    return (1 - weight) * hybrid(ch, i, w) + weight * fused([top(ch.heading[i])], [1.0], len(ch.sections))


def adaptive(ch: Channels, i: int, pivot: float = 0.5, slope: float = 0.5) -> np.ndarray:
    """Dense weight from how well the best passage matches: a close dense match leans on dense."""
    return hybrid(ch, i, float(np.clip(0.5 + slope * (ch.dense[i].max() - pivot), 0.2, 0.8)))


def with_sentence(ch: Channels, i: int, top: int = 10, weight: float = 0.2) -> np.ndarray:
    """Re-score hybrid's top sections with their best single sentence."""
    base = hybrid(ch, i)
    keep = np.argsort(-base, kind="stable")[:top]
    out = np.full(len(base), -np.inf)
    out[keep] = (1 - weight) * _minmax(base[keep]) + weight * _minmax(ch.sentence[i][keep])
    return out


def d2q(ch: Channels, i: int, vectors: bool = True, words: bool = True) -> np.ndarray:
    """Hybrid with doc2query: a passage matched by its generated questions too (vectors: the better of the passage
    and its best question; words: BM25 over the passage plus its questions)."""
    assert ch.d2q_dense is not None and ch.d2q_bm25 is not None
    dense = np.maximum(ch.dense[i], ch.d2q_dense[i]) if vectors else ch.dense[i]
    bm25 = ch.d2q_bm25[i] if words else ch.bm25[i]
    return best_passage(ch, fused([top(dense, positive=False), top(bm25)], [0.5, 0.5], len(ch.owner)))


def tuned_channels(ch: Channels, embedder: Embedder, retriever: Retriever, questions: list[str]) -> Channels:
    """The dense channel re-scored with another bi-encoder over the same passages (the others unchanged)."""
    passages = embedder.embed([p.indexed_text for p in retriever.index.passages])
    return dataclasses.replace(ch, dense=embedder.embed(questions) @ passages.T)


def _minmax(v: np.ndarray) -> np.ndarray:
    return (v - v.min()) / ((v.max() - v.min()) or 1.0)


Variant = Callable[[Channels, int], np.ndarray]
VARIANTS: dict[str, Variant] = {
    "dense": lambda ch, i: best_passage(ch, ch.dense[i]),
    "bm25": lambda ch, i: best_passage(ch, ch.bm25[i]),
    "heading alone": lambda ch, i: ch.heading[i],
    "hybrid": hybrid,
    "hybrid + heading channel (0.2)": with_heading,
    "hybrid, adaptive weight": adaptive,
    "hybrid + best sentence (top 10, 0.2)": with_sentence,
}
D2Q_VARIANTS: dict[str, Variant] = {
    "hybrid + doc2query words": lambda ch, i: d2q(ch, i, vectors=False),
    "hybrid + doc2query vectors": lambda ch, i: d2q(ch, i, words=False),
    "hybrid + doc2query words and vectors": d2q,
}


def table(ch: Channels, questions: list, variant: Variant) -> dict[str, dict[str, float]]:
    groups: dict[str, list[list[float]]] = {}
    for i, q in enumerate(questions):
        order = [ch.sections[j] for j in np.argsort(-variant(ch, i), kind="stable")[:10]]
        values = [m.compute(order, q.expected) for m in METRICS]
        for key in (f"{q.split}/all", f"{q.split}/{q.kind}"):
            groups.setdefault(key, []).append(values)
    return {
        k: {m.name: round(float(np.mean([v[n] for v in rows])), 3) for n, m in enumerate(METRICS)} | {"n": len(rows)}
        for k, rows in sorted(groups.items())
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("eval/results/retrieval"))
    parser.add_argument("--questions", type=Path, default=QUESTIONS_FILE, help="generated questions (doc2query)")
    parser.add_argument("--embedder", type=Path, help="a tuned bi-encoder (eval.tune_embedder) to score as well")
    args = parser.parse_args()
    cache = QuestionCache(args.questions)
    questions = [q for q in load_questions(DEFAULT_QUERIES) if q.answerable]
    results: dict[str, dict] = {}
    for spell in (False, True):
        retriever = Retriever(Settings.from_env(spell_correct=spell))
        retriever.warm_up()
        resolve(questions, retriever.index.sections)
        texts = [retriever.prepare(q.question)[0] for q in questions]
        ch = score_channels(retriever, texts)
        variants = dict(VARIANTS)
        if len(cache):
            ch.d2q_dense, ch.d2q_bm25 = expansion_channels(retriever, retriever.embedder.embed(texts), texts, cache)
            variants |= D2Q_VARIANTS
        for name, variant in variants.items():
            results[f"{name}{', typos corrected' if spell else ''}"] = table(ch, questions, variant)
        if args.embedder and spell:
            tuned = tuned_channels(ch, Embedder(str(args.embedder), backend="torch"), retriever, texts)
            for name in ("dense", "hybrid"):
                results[f"{name}, typos corrected, tuned embedder"] = table(tuned, questions, VARIANTS[name])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ablation.json").write_text(json.dumps(results, indent=1) + "\n")
    (args.out / "ablation.md").write_text(markdown(results))
    print(markdown(results))


def markdown(results: dict[str, dict]) -> str:
    keys = sorted(next(iter(results.values())))
    head = "| variant | " + " | ".join(keys) + " |\n|---|" + "---|" * len(keys) + "\n"
    rows = [
        f"| {name} | " + " | ".join("{hit@1:.3f} / {mrr@10:.3f} / {ndcg@10:.3f}".format(**r[k]) for k in keys) + " |"
        for name, r in results.items()
    ]
    counts = ", ".join(f"{k}: {next(iter(results.values()))[k]['n']}" for k in keys)
    return f"hit@1 / MRR@10 / nDCG@10 per split/kind ({counts} questions)\n\n" + head + "\n".join(rows) + "\n"


if __name__ == "__main__":
    main()
