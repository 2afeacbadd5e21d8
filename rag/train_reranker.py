"""Train the domain cross-encoder from the bundled all-MiniLM-L6-v2 weights, on pairs made from the corpus alone.

No cross-encoder can be downloaded here, so one is fine-tuned in-project. Training sees only the indexed
collection (never an evaluation question):
  * heading -> its section's passages: the heading (usually a question) as the query, a passage body as the
    positive. The heading is left out of every document of such a group, or the model would learn to match
    the heading string instead of the content;
  * inverse cloze: one sentence taken out of a passage is the query, heading + the rest of that passage is the
    positive: this teaches detail questions, whose answer is one sentence deep in a section.
Hard negatives are the first-stage (hybrid) retriever's best passages for the query, excluding the query's own
section (and sections with the same heading). The loss is listwise: softmax cross-entropy over
(positive, negatives) groups. Everything random draws from one seeded generator: same seed, same model.

The model goes to `<index_dir>.reranker/` (rag.rerank.reranker_dir), written to a temp dir and renamed into
place, with reranker_manifest.json (base model, corpus_hash, training config, pair counts, created_at).
Training is skipped when that manifest already matches the index's corpus_hash and the training config.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from index.models import DEFAULT_EMBEDDER, resolve_model
from index.store import StoredIndex
from rag.indexing import Notify
from rag.rerank import RERANKER_MANIFEST, pair_text, read_reranker_manifest, reranker_dir
from rag.retrieve import Retriever

BASE_MODEL = DEFAULT_EMBEDDER
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass
class TrainConfig:
    # Sized for ~5-8 minutes on 2 shared CPU cores (a step of 18 pairs took 3-4 s there, busy).
    steps: int = 100
    seed: int = 13
    groups_per_batch: int = 6  # each group: 1 positive + `negatives` negatives
    negatives: int = 2
    lr: float = 2e-4
    head_lr_scale: float = 10.0
    freeze_layers: int = 4  # embeddings and the lowest encoder layers stay as the bi-encoder learnt them
    warmup: float = 0.1
    max_length: int = 128
    mine_depth: int = 30  # first-stage passages looked at for hard negatives
    base_model: str = BASE_MODEL
    version: str = "ce-train-v2"


@dataclass
class Group:
    query: str
    positive: str
    negatives: list[str]
    kind: str  # "heading" or "cloze"


def _quiet(_: str) -> None:
    pass


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def make_groups(retriever: Retriever, config: TrainConfig, progress: bool = True) -> list[Group]:
    """Training groups from the index's sections and passages, hard negatives from the hybrid retriever."""
    from tqdm.auto import tqdm

    index = retriever.index
    rng = random.Random(config.seed)
    by_section: dict[str, list[int]] = {}
    for row, p in enumerate(index.passages):
        by_section.setdefault(p.section_id, []).append(row)
    heading_of = {sid: _norm(s.heading) for sid, s in index.sections.items()}

    # (query, positive text, kind, excluded sections)
    raw: list[tuple[str, str, str, set[str]]] = []
    for sid in sorted(by_section):
        section = index.sections[sid]
        bodies = [r for r in by_section[sid] if index.passages[r].text.strip()]
        if not bodies:
            continue
        same = {s for s, h in heading_of.items() if h == heading_of[sid]}
        for r in bodies:  # heading -> every passage of its section
            raw.append((section.heading, index.passages[r].text, "heading", same))
        for r in bodies:  # inverse cloze: one sentence out of each passage
            sentences = [s for s in _SENTENCE.split(index.passages[r].text) if s.strip()]
            usable = [i for i, s in enumerate(sentences) if len(s.split()) >= 6]
            if len(sentences) < 2 or not usable:
                continue
            i = rng.choice(usable)
            rest = " ".join(sentences[:i] + sentences[i + 1 :])
            if len(rest.split()) < 8:
                continue
            raw.append((sentences[i], pair_text(section.heading, rest), "cloze", {sid}))

    vectors = retriever.embedder.embed([q for q, *_ in raw], progress=progress)
    groups: list[Group] = []
    for (query, positive, kind, exclude), vec in tqdm(
        list(zip(raw, vectors, strict=True)), desc="Mining hard negatives", unit="query", disable=not progress
    ):
        ranking = retriever.passage_ranking(query, "hybrid", config.mine_depth, {}, vector=vec)
        pool = [r for r, _ in ranking if index.passages[r].section_id not in exclude]
        negs = pool[: config.negatives * 2]
        rng.shuffle(negs)
        chosen = negs[: config.negatives]
        while len(chosen) < config.negatives:  # shallow ranking: fill with random passages of other sections
            r = rng.randrange(len(index.passages))
            if index.passages[r].section_id not in exclude and r not in chosen:
                chosen.append(r)
        texts = [
            index.passages[r].text or index.passages[r].heading
            if kind == "heading"
            else pair_text(index.passages[r].heading, index.passages[r].text)
            for r in chosen
        ]
        groups.append(Group(query, positive, texts, kind))
    return groups


def _config_key(config: TrainConfig) -> dict[str, Any]:
    return asdict(config)


def up_to_date(index: StoredIndex, directory: Path, config: TrainConfig) -> bool:
    manifest = read_reranker_manifest(directory)
    return (
        manifest is not None
        and manifest.get("corpus_hash") == index.manifest.corpus_hash
        and manifest.get("config") == _config_key(config)
    )


def train_reranker(
    retriever: Retriever,
    config: TrainConfig | None = None,
    notify: Notify = _quiet,
    progress: bool = True,
    force: bool = False,
) -> Path:
    """Train (unless up to date) and save the reranker for the retriever's index; return its folder."""
    import torch
    from sentence_transformers import CrossEncoder
    from tqdm.auto import tqdm

    config = config or TrainConfig()
    index = retriever.index
    out = reranker_dir(retriever.settings.index_dir)
    if not force and up_to_date(index, out, config):
        notify(f"reranker at {out} is up to date: not retraining")
        return out
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    groups = make_groups(retriever, config, progress)
    if not groups:
        raise ValueError("the collection gives no training pairs (no passage has a body)")
    notify(
        f"training the reranker: {len(groups)} groups "
        f"({sum(g.kind == 'heading' for g in groups)} heading, {sum(g.kind == 'cloze' for g in groups)} cloze), "
        f"{config.steps} steps"
    )
    device = retriever.reranker.device
    from index.embed import pick_device

    model = CrossEncoder(
        resolve_model(config.base_model), num_labels=1, max_length=config.max_length,
        device=pick_device(device), local_files_only=True,
    )
    model.train()
    frozen = ("embeddings.", *(f"layer.{i}." for i in range(config.freeze_layers)))
    for name, param in model.named_parameters():
        if any(f in name for f in frozen):
            param.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    # The classification head starts random: it gets a larger step than the pre-trained layers.
    head = [p for n, p in model.named_parameters() if p.requires_grad and ("classifier" in n or "pooler" in n)]
    body = [p for p in trainable if all(p is not h for h in head)]
    optimizer = torch.optim.AdamW(
        [{"params": body, "lr": config.lr}, {"params": head, "lr": config.lr * config.head_lr_scale}],
        weight_decay=0.01,
    )
    warmup = max(1, int(config.steps * config.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min((s + 1) / warmup, max(0.0, (config.steps - s) / max(1, config.steps - warmup))),
    )
    rng = random.Random(config.seed + 1)
    order: list[int] = []
    size = 1 + config.negatives
    losses: list[float] = []
    bar = tqdm(range(config.steps), desc="Training reranker", unit="step", disable=not progress)
    for _ in bar:
        batch = []
        for _ in range(config.groups_per_batch):
            if not order:
                order = list(range(len(groups)))
                rng.shuffle(order)
            batch.append(groups[order.pop()])
        pairs = [(g.query, doc) for g in batch for doc in [g.positive, *g.negatives]]
        features = model.preprocess(pairs)
        features = {k: v.to(model.device) if hasattr(v, "to") else v for k, v in features.items()}
        logits = model(features)["scores"].view(len(batch), size)
        target = torch.zeros(len(batch), dtype=torch.long, device=logits.device)  # the positive comes first
        loss = torch.nn.functional.cross_entropy(logits, target)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
        bar.set_postfix(loss=f"{sum(losses[-20:]) / len(losses[-20:]):.3f}")
    model.eval()

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        model.save(str(tmp))
        manifest = {
            "base_model": config.base_model,
            "corpus_hash": index.manifest.corpus_hash,
            "index_created_at": index.manifest.created_at,
            "config": _config_key(config),
            "steps": config.steps,
            "seed": config.seed,
            "pairs": {
                "groups": len(groups),
                "heading": sum(g.kind == "heading" for g in groups),
                "cloze": sum(g.kind == "cloze" for g in groups),
                "pairs_seen": config.steps * config.groups_per_batch * size,
            },
            "final_loss": round(sum(losses[-20:]) / len(losses[-20:]), 4),
            "train_seconds": round(time.perf_counter() - started, 1),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (tmp / RERANKER_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        if out.exists():
            out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    notify(f"trained the reranker in {manifest['train_seconds']:.0f} s into {out}")
    return out
