"""The bi-encoder adapted to the collection in-project (issue 12), built and measured as a study.

    python -m eval.tune_embedder --out DIR [--minutes 20] [--cloze 1] [--hard]
    python -m eval.fusion_study --embedder DIR      # its dense channel, alone and fused, beside the others

(or index with it: `ASKDOC_EMBED_MODEL=DIR ASKDOC_INDEX_DIR=/tmp/tuned-index askdoc eval --split tune`).

Training pairs come from the corpus only, never from the eval set (what the section texts themselves say):
- each kept doc2query question (`eval/data/doc2query.jsonl`) -> its passage;
- each heading -> its section's first passage without the heading (the heading is a question; its words are
  usually not the answer's);
- inverse cloze: a sentence of a passage -> the passage without that sentence (the sentence stands for a detail
  question whose words are in the passage but not the heading).
MultipleNegativesRankingLoss with in-batch negatives, a batch never holding two pairs of one section (they would
be false negatives). The model is saved as a sentence-transformers folder, usable as `embed_model`.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from corpus.text import split_sentences
from eval.doc2query import QUESTIONS_FILE, QuestionCache, passage_hash
from index.models import resolve_model
from index.store import StoredIndex, load
from rag.config import Settings

Pair = tuple[str, str, str]  # (anchor, positive, section id)


def hard_negatives(pairs: list[Pair], settings: Settings, index: StoredIndex) -> list[str]:
    """Per pair, the passage hybrid search ranks highest for its anchor among other sections' passages."""
    from rag.retrieve import Retriever

    retriever = Retriever(settings, index=index)  # the index the pairs came from, not loaded a second time
    retriever.warm_up()
    passages = retriever.index.passages
    out = []
    for anchor, _, section in pairs:
        ranking = retriever.passage_ranking(anchor, "hybrid", 20, {})
        row = next(r for r, _ in ranking if passages[r].section_id != section)
        out.append(passages[row].indexed_text)
    return out


def pairs_from_index(index: StoredIndex, cloze_per_passage: int, seed: int) -> list[Pair]:
    """The training pairs of the module docstring, shuffled."""
    rng = random.Random(seed)
    cache = QuestionCache(QUESTIONS_FILE)
    out: list[Pair] = []
    first_seen: set[str] = set()
    for p in index.passages:
        out += [(q, p.indexed_text, p.section_id) for q in cache.get(passage_hash(p.indexed_text))]
        if p.section_id not in first_seen and p.text:
            first_seen.add(p.section_id)
            out.append((p.heading, p.text, p.section_id))
        every = split_sentences(p.text)
        sentences = [s for s in dict.fromkeys(every) if len(s.split()) >= 6]
        for s in rng.sample(sentences, min(cloze_per_passage, len(sentences))):
            rest = " ".join(x for x in every if x != s)
            if len(rest.split()) >= 10:
                out.append((s, f"{p.heading}\n{rest}", p.section_id))
    rng.shuffle(out)
    return out


def batches(pairs: list[Pair], size: int, seed: int) -> list[list[Pair]]:
    """Batches of `size` pairs from distinct sections (greedy over a shuffled list)."""
    pending = list(pairs)
    random.Random(seed).shuffle(pending)
    out: list[list[Pair]] = []
    while pending:
        batch, sections, rest = [], set(), []
        for pair in pending:
            if len(batch) < size and pair[2] not in sections:
                batch.append(pair)
                sections.add(pair[2])
            else:
                rest.append(pair)
        out.append(batch)
        pending = rest
    return out


def train(base: str, plan: list[list[Pair]], negative: dict[Pair, str], args: argparse.Namespace) -> dict:
    """MultipleNegativesRankingLoss over the planned batches until they or the time budget run out; saves the
    model to args.out."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    torch.manual_seed(args.seed)
    model = SentenceTransformer(base, device="cpu")
    loss_fn = MultipleNegativesRankingLoss(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    model.train()
    start, losses = time.monotonic(), []
    for step, batch in enumerate(plan, 1):
        if time.monotonic() - start > args.minutes * 60:
            break
        features = [model.preprocess([p[0] for p in batch]), model.preprocess([p[1] for p in batch])]
        if negative:
            features.append(model.preprocess([negative[p] for p in batch]))
        loss = loss_fn(features, None)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
        if step % 10 == 0:
            print(f"  step {step}, {time.monotonic() - start:.0f} s, loss (last 10) {sum(losses[-10:]) / 10:.3f}")
    model.eval()
    model.save(str(args.out))
    return {
        "steps": len(losses),
        "seconds": round(time.monotonic() - start),
        "first_loss": losses[0] if losses else None,
        "final_loss": sum(losses[-10:]) / max(1, len(losses[-10:])),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=20.0, help="CPU time budget for training")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--cloze", type=int, default=1, help="inverse-cloze pairs per passage")
    ap.add_argument("--hard", action="store_true", help="add one mined hard negative per pair")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()

    settings = Settings.from_env()
    index = load(settings.index_dir)
    pairs = pairs_from_index(index, args.cloze, args.seed)
    negative = dict(zip(pairs, hard_negatives(pairs, settings, index), strict=True)) if args.hard else {}
    plan = [b for epoch in range(args.epochs) for b in batches(pairs, args.batch, args.seed + epoch)]
    print(f"{len(pairs)} pairs, {len(plan)} steps planned")
    stats = {"pairs": len(pairs), **train(resolve_model(settings.embed_model), plan, negative, args)}
    stats |= {k: v for k, v in vars(args).items() if k != "out"}
    (args.out / "tune_manifest.json").write_text(json.dumps(stats, indent=2), encoding="utf-8")
    print(stats)


if __name__ == "__main__":
    main()
