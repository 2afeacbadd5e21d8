"""Train the domain cross-encoder from the bundled all-MiniLM-L6-v2 weights, on groups made from the corpus alone.

No cross-encoder can be downloaded here, so one is fine-tuned in-project (pairs: train/data.py; the frozen,
cached bottom layers: train/encoder.py). The loss is listwise: softmax cross-entropy over (positive, negatives)
groups. Everything random draws from one seeded generator: same seed, same model.

The model goes to `<index_dir>.reranker/` (rag.rerank.artifacts), written to a temp dir and renamed into place,
with reranker_manifest.json (base model, corpus_hash, training config, pair counts, created_at). Training is
skipped when that manifest already fits the index (artifacts.is_current) and matches the training config.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from corpus.errors import InvalidInputError
from index.collection import Notify, quiet
from index.models import DEFAULT_EMBEDDER, resolve_model
from index.store import StoredIndex
from rag.config import collection_dir
from rag.rerank.artifacts import is_current, read_reranker_manifest, reranker_dir, save_trained
from rag.rerank.train.data import Group, make_groups
from rag.rerank.train.encoder import Cached, SplitEncoder
from rag.retrieve import Retriever

BASE_MODEL = DEFAULT_EMBEDDER


@dataclass
class TrainConfig:
    # Sized for < 10 minutes on 2 idle CPU cores for the default corpus (~2,200 groups).
    epochs: float = 2.5
    steps: int = 0  # > 0: exactly this many steps instead of `epochs` (short runs, tests)
    seed: int = 13
    groups_per_batch: int = 8  # each group: 1 positive + `negatives` negatives
    negatives: int = 3
    cloze_per_passage: int = 2
    augment: bool = True
    lr: float = 2e-4
    head_lr: float = 2e-3  # the classification head starts random: it gets a larger step
    freeze_layers: int = 3  # embeddings and the lowest encoder layers stay as the bi-encoder learnt them
    warmup: float = 0.1
    max_length: int = 128
    mine_depth: int = 30  # first-stage passages looked at for hard negatives
    base_model: str = BASE_MODEL
    version: str = "ce-train-v4"  # bump when pair making changes: a trained model is reused while it matches


def up_to_date(index: StoredIndex, directory: Path, config: TrainConfig) -> bool:
    manifest = read_reranker_manifest(directory)
    return (
        manifest is not None
        and is_current(manifest, index.manifest.corpus_hash)
        and manifest.get("config") == asdict(config)
    )


def train_reranker(
    retriever: Retriever,
    config: TrainConfig | None = None,
    notify: Notify = quiet,
    progress: bool = True,
    force: bool = False,
) -> Path:
    """Train (unless up to date) and save the reranker for the retriever's index; return its folder."""
    import torch

    config = config or TrainConfig()
    index = retriever.index
    out = reranker_dir(collection_dir(retriever.settings))
    if not force and up_to_date(index, out, config):
        notify(f"reranker at {out} is up to date: not retraining")
        return out
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    model = _base_model(config, retriever.settings.device)
    groups = make_groups(retriever, config, progress)
    if not groups:
        raise InvalidInputError("the collection gives no training pairs (no passage has a body)")
    per_epoch = math.ceil(len(groups) / config.groups_per_batch)
    steps = config.steps or max(1, round(per_epoch * config.epochs))
    notify(
        f"training the reranker: {len(groups)} groups "
        f"({sum(g.kind == 'heading' for g in groups)} heading, {sum(g.kind == 'cloze' for g in groups)} cloze), "
        f"{steps} steps"
    )
    losses = _fit(model, groups, config, steps, progress)
    manifest = _manifest(index, config, groups, steps, losses, time.perf_counter() - started)
    save_trained(out, lambda tmp: model.save(str(tmp)), manifest)
    notify(f"trained the reranker in {manifest['train_seconds']:.0f} s into {out}")
    return out


def _base_model(config: TrainConfig, device: str) -> Any:
    from sentence_transformers import CrossEncoder

    from index.embed import pick_device

    return CrossEncoder(
        resolve_model(config.base_model),
        num_labels=1,
        max_length=config.max_length,
        device=pick_device(device),
        local_files_only=True,
    )


def _fit(model: Any, groups: list[Group], config: TrainConfig, steps: int, progress: bool) -> list[float]:
    """Run `steps` optimiser steps over the groups; the loss of every step."""
    import torch
    from tqdm.auto import tqdm

    hf = model.model
    size = 1 + config.negatives
    split = SplitEncoder(hf, config.freeze_layers) if config.freeze_layers > 0 else None
    plan, used = step_plan(len(groups), steps, config)
    cache: dict[int, Cached] = {}
    if split is not None:
        encoded = split.cache(model.tokenizer, [groups[i] for i in used], size, config.max_length, progress)
        cache = dict(zip(used, encoded, strict=True))
    optimizer, schedule, params = _optimizer(hf, config, steps)
    hf.train()
    losses: list[float] = []
    bar = tqdm(plan, desc="Training reranker", unit="step", disable=not progress)
    for batch in bar:
        logits = _logits(model, split, cache, groups, batch)
        target = torch.zeros(len(batch), dtype=torch.long, device=hf.device)  # the positive comes first
        loss = torch.nn.functional.cross_entropy(logits.view(len(batch), size), target)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
        bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.3f}")
    hf.eval()
    return losses


def step_plan(n_groups: int, steps: int, config: TrainConfig) -> tuple[list[list[int]], list[int]]:
    """Each step's batch of group indices, and the groups they meet: only those go through the frozen layers (a
    short run, --steps 2, used to encode every group first)."""
    batches = _batches(n_groups, config)
    plan = [next(batches) for _ in range(steps)]
    return plan, sorted({i for batch in plan for i in batch})


def _batches(n_groups: int, config: TrainConfig) -> Any:
    """Endless batches of group indices: every group once per shuffled pass, passes joined without a break."""
    rng = random.Random(config.seed + 1)
    order: list[int] = []
    while True:
        batch = []
        for _ in range(config.groups_per_batch):
            if not order:
                order = list(range(n_groups))
                rng.shuffle(order)
            batch.append(order.pop())
        yield batch


def _logits(
    model: Any, split: SplitEncoder | None, cache: dict[int, Cached], groups: list[Group], batch: list[int]
) -> Any:
    if split is not None:
        return split.top_of([cache[i] for i in batch])
    pairs = [(groups[i].query, doc) for i in batch for doc in [groups[i].positive, *groups[i].negatives]]
    features = model.preprocess(pairs)
    return model.model(**{k: v.to(model.model.device) for k, v in features.items()}).logits.view(-1)


def _optimizer(hf: Any, config: TrainConfig, steps: int) -> tuple[Any, Any, list[Any]]:
    """AdamW over the unfrozen parameters (the head at its own rate), warmup then linear decay; and those params."""
    import torch

    frozen = ("embeddings.", *(f"encoder.layer.{i}." for i in range(config.freeze_layers)))
    head, body = [], []
    for name, param in hf.named_parameters():
        train = not any(f in name for f in frozen)
        param.requires_grad_(train)
        if train:
            (head if "classifier" in name or "pooler" in name else body).append(param)
    optimizer = torch.optim.AdamW(
        [{"params": body, "lr": config.lr}, {"params": head, "lr": config.head_lr}], weight_decay=0.01
    )
    warmup = max(1, int(steps * config.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup)))
    )
    return optimizer, schedule, body + head


def _manifest(
    index: StoredIndex, config: TrainConfig, groups: list[Group], steps: int, losses: list[float], seconds: float
) -> dict[str, Any]:
    return {
        "base_model": config.base_model,
        "corpus_hash": index.manifest.corpus_hash,
        "index_created_at": index.manifest.created_at,
        "config": asdict(config),
        "steps": steps,
        "seed": config.seed,
        "pairs": {
            "groups": len(groups),
            "heading": sum(g.kind == "heading" for g in groups),
            "cloze": sum(g.kind == "cloze" for g in groups),
            "pairs_seen": steps * config.groups_per_batch * (1 + config.negatives),
        },
        "final_loss": round(sum(losses[-50:]) / len(losses[-50:]), 4),
        "train_seconds": round(seconds, 1),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
