"""Train the domain cross-encoder from the bundled all-MiniLM-L6-v2 weights, on pairs made from the corpus alone.

No cross-encoder can be downloaded here, so one is fine-tuned in-project. Training sees only the indexed
collection (never an evaluation question):
  * heading -> its section's passages: the heading (usually a question) as the query, a passage body as the
    positive. The heading is left out of every document of such a group, or the model would learn to match
    the heading string instead of the content;
  * inverse cloze: sentences taken out of a passage are the queries, heading + the rest of that passage is the
    positive: this teaches detail questions, whose answer is one sentence deep in a section.
Queries are sometimes rewritten the way people type them (keywords only, a typo, lower case). Hard negatives
are the first-stage (hybrid) retriever's best passages for the query, excluding the query's own section (and
sections with the same heading). Documents are the whole passage, cut at max_length (narrowing them with
rag.rerank.focus(), as scoring does, measured worse on the tune split: the model learnt the lexical overlap that
focus selects for). The loss is listwise: softmax cross-entropy over (positive, negatives) groups. Everything
random draws from one seeded generator: same seed, same model.

Speed on a CPU: the embeddings and the lowest `freeze_layers` encoder layers are frozen, and because the training
pairs are fixed, their output is computed once per pair and cached; each step then runs only the top layers.
That makes a step ~3x cheaper than full fine-tuning, which is what lets several epochs fit in minutes.

The model goes to `<index_dir>.reranker/` (rag.rerank.reranker_dir), written to a temp dir and renamed into
place, with reranker_manifest.json (base model, corpus_hash, training config, pair counts, created_at).
Training is skipped when that manifest already matches the index's corpus_hash and the training config.
"""

from __future__ import annotations

import json
import math
import random
import re
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from corpus.errors import InvalidInputError
from corpus.text import sentence_spans, strip_bullet
from index.lexical import STOPWORDS
from index.models import DEFAULT_EMBEDDER, resolve_model
from index.store import StoredIndex
from rag.indexing import Notify
from rag.rerank import RERANKER_MANIFEST, pair_text, read_reranker_manifest, reranker_dir
from rag.retrieve import Retriever

BASE_MODEL = DEFAULT_EMBEDDER
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]*")


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


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 2)
    op = rng.randrange(3)
    if op == 0:  # swap two letters
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if op == 1:  # drop one
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]  # double one


def augment_query(query: str, rng: random.Random) -> str:
    """Now and then, the query as people type it: keywords only (15 %), one typo (15 %), lower case (15 %)."""
    x = rng.random()
    if x < 0.15:
        keywords = [w for w in _WORD.findall(query) if w.lower() not in STOPWORDS]
        return " ".join(keywords).lower() or query
    if x < 0.30:
        words = query.split()
        j = rng.randrange(len(words))
        words[j] = _typo(words[j], rng)
        return " ".join(words)
    if x < 0.45:
        return query.lower()
    return query


def make_groups(retriever: Retriever, config: TrainConfig, progress: bool = True) -> list[Group]:
    """Training groups from the index's sections and passages, hard negatives from the hybrid retriever."""
    from tqdm.auto import tqdm

    index = retriever.index
    rng = random.Random(config.seed)
    by_section: dict[str, list[int]] = {}
    for row, p in enumerate(index.passages):
        by_section.setdefault(p.section_id, []).append(row)
    heading_of = {sid: _norm(s.heading) for sid, s in index.sections.items()}

    def rewrite(query: str) -> str:
        return augment_query(query, rng) if config.augment else query

    # (query, positive text, kind, excluded sections)
    raw: list[tuple[str, str, str, set[str]]] = []
    for sid in sorted(by_section):
        section = index.sections[sid]
        bodies = [r for r in by_section[sid] if index.passages[r].text.strip()]
        same = {s for s, h in heading_of.items() if h == heading_of[sid]}
        for r in bodies:  # heading -> every passage of its section
            query = rewrite(section.heading)
            raw.append((query, index.passages[r].text, "heading", same))
        for r in bodies:  # inverse cloze: sentences out of each passage
            text = index.passages[r].text
            spans = sentence_spans(text)
            usable = [i for i, (a, b) in enumerate(spans) if len(text[a:b].split()) >= 6]
            if len(spans) < 2:
                continue
            for i in rng.sample(usable, min(config.cloze_per_passage, len(usable))):
                rest = cut_span(text, spans[i])
                if len(rest.split()) < 8:
                    continue
                query = rewrite(strip_bullet(text[slice(*spans[i])]))
                raw.append((query, pair_text(section.heading, rest), "cloze", {sid}))

    vectors = retriever.embedder.embed([q for q, *_ in raw], progress=progress)
    groups: list[Group] = []
    for (query, positive, kind, exclude), vec in tqdm(
        list(zip(raw, vectors, strict=True)), desc="Mining hard negatives", unit="query", disable=not progress
    ):
        ranking = retriever.passage_ranking(query, "hybrid", config.mine_depth, {}, vector=vec)
        pool = [r for r, _ in ranking if index.passages[r].section_id not in exclude]
        chosen = pool[: config.negatives * 2]
        rng.shuffle(chosen)
        chosen = chosen[: config.negatives]
        if len(chosen) < config.negatives:  # shallow ranking: fill with other sections' passages
            others = [r for r in range(len(index.passages)) if index.passages[r].section_id not in exclude]
            if not others:
                raise InvalidInputError("training a reranker needs a collection of at least two sections")
            spare = [r for r in others if r not in chosen] or others  # a tiny collection repeats negatives
            chosen += rng.sample(spare, min(len(spare), config.negatives - len(chosen)))
            while len(chosen) < config.negatives:
                chosen.append(rng.choice(others))
        negatives = [
            pair_text("" if kind == "heading" else index.passages[r].heading, index.passages[r].text)
            or index.passages[r].heading
            for r in chosen
        ]
        groups.append(Group(query, positive, negatives, kind))
    return groups


def cut_span(text: str, span: tuple[int, int]) -> str:
    """The text without one sentence, its formatting otherwise kept.

    Positives and negatives must look alike: a positive re-joined from split sentences loses the newlines and
    bullet markers every negative keeps, and the model learns that instead of relevance (measured: reranker-alone
    hit@1 on the tune split fell from 0.69 to 0.50).
    """
    lines = (text[: span[0]] + text[span[1] :]).split("\n")
    kept = [" ".join(line.split()) for line in lines if strip_bullet(line) or not line.strip()]
    return "\n".join(kept).strip()


class _SplitEncoder:
    """A BERT-family sequence classifier run in two parts: the frozen bottom once per pair, the top per step."""

    def __init__(self, model: Any, frozen_layers: int) -> None:
        self.model = model
        self.encoder = getattr(model, model.base_model_prefix)
        if not hasattr(self.encoder, "encoder") or not hasattr(model, "classifier"):
            raise ValueError(f"{type(model).__name__}: caching frozen layers needs a BERT-style model")
        self.frozen = frozen_layers

    def bottom(self, features: dict[str, Any]) -> Any:
        """Hidden states after the frozen layers (no gradient)."""
        import torch

        layers = self.encoder.encoder.layer
        try:
            self.encoder.encoder.layer = layers[: self.frozen]
            with torch.inference_mode():
                return self.encoder(**features).last_hidden_state
        finally:
            self.encoder.encoder.layer = layers

    def top(self, hidden: Any, attention_mask: Any) -> Any:
        """Relevance logits from cached hidden states, through the trainable layers, pooler and head."""
        from transformers.masking_utils import create_bidirectional_mask

        mask = create_bidirectional_mask(
            config=self.encoder.config, inputs_embeds=hidden, attention_mask=attention_mask
        )
        for layer in self.encoder.encoder.layer[self.frozen :]:
            hidden = layer(hidden, attention_mask=mask)
            if isinstance(hidden, tuple):
                hidden = hidden[0]
        pooled = self.encoder.pooler(hidden)
        return self.model.classifier(self.model.dropout(pooled)).view(-1)


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

    from index.embed import pick_device

    config = config or TrainConfig()
    index = retriever.index
    out = reranker_dir(retriever.settings.index_dir)
    if not force and up_to_date(index, out, config):
        notify(f"reranker at {out} is up to date: not retraining")
        return out
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    model = CrossEncoder(
        resolve_model(config.base_model),
        num_labels=1,
        max_length=config.max_length,
        device=pick_device(retriever.settings.device),
        local_files_only=True,
    )
    tokenizer = model.tokenizer
    groups = make_groups(retriever, config, progress)
    if not groups:
        raise InvalidInputError("the collection gives no training pairs (no passage has a body)")
    size = 1 + config.negatives
    per_epoch = math.ceil(len(groups) / config.groups_per_batch)
    steps = config.steps or max(1, round(per_epoch * config.epochs))
    notify(
        f"training the reranker: {len(groups)} groups "
        f"({sum(g.kind == 'heading' for g in groups)} heading, {sum(g.kind == 'cloze' for g in groups)} cloze), "
        f"{steps} steps"
    )
    hf = model.model
    device = hf.device

    split = _SplitEncoder(hf, config.freeze_layers) if config.freeze_layers > 0 else None
    cache: list[tuple[Any, Any]] = []  # per group: (attention mask, bottom hidden states in fp16)
    if split is not None:
        hf.eval()  # no dropout in what gets cached
        chunk = 8  # groups per forward pass: padded together, then cut back to each group's own length
        for start in tqdm(
            range(0, len(groups), chunk), desc="Encoding frozen layers", unit="batch", disable=not progress
        ):
            part = groups[start : start + chunk]
            features = tokenizer(
                [g.query for g in part for _ in range(size)],
                [doc for g in part for doc in (g.positive, *g.negatives)],
                padding=True,
                truncation=True,
                max_length=config.max_length,
                return_tensors="pt",
            ).to(device)
            hidden = split.bottom(features).to(torch.float16)
            mask = features["attention_mask"]
            for j in range(len(part)):
                rows = slice(j * size, (j + 1) * size)
                width = int(mask[rows].sum(dim=1).max())
                cache.append((mask[rows, :width].clone(), hidden[rows, :width].clone()))

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
    hf.train()
    rng = random.Random(config.seed + 1)
    order: list[int] = []
    losses: list[float] = []
    bar = tqdm(range(steps), desc="Training reranker", unit="step", disable=not progress)
    for _ in bar:
        batch = []
        for _ in range(config.groups_per_batch):
            if not order:
                order = list(range(len(groups)))
                rng.shuffle(order)
            batch.append(order.pop())
        if split is None:
            pairs = [(groups[i].query, doc) for i in batch for doc in [groups[i].positive, *groups[i].negatives]]
            features = model.preprocess(pairs)
            logits = hf(**{k: v.to(device) for k, v in features.items()}).logits.view(-1)
        else:
            width = max(cache[i][1].shape[1] for i in batch)
            hidden = torch.zeros(len(batch) * size, width, hf.config.hidden_size, device=device)
            mask = torch.zeros(len(batch) * size, width, dtype=torch.long, device=device)
            for j, i in enumerate(batch):
                group_mask, group_hidden = cache[i]
                hidden[j * size : (j + 1) * size, : group_hidden.shape[1]] = group_hidden.float()
                mask[j * size : (j + 1) * size, : group_mask.shape[1]] = group_mask
            logits = split.top(hidden, mask)
        target = torch.zeros(len(batch), dtype=torch.long, device=device)  # the positive comes first
        loss = torch.nn.functional.cross_entropy(logits.view(len(batch), size), target)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(body + head, 1.0)
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
        bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.3f}")
    hf.eval()

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        model.save(str(tmp))
        manifest = {
            "base_model": config.base_model,
            "corpus_hash": index.manifest.corpus_hash,
            "index_created_at": index.manifest.created_at,
            "config": _config_key(config),
            "steps": steps,
            "seed": config.seed,
            "pairs": {
                "groups": len(groups),
                "heading": sum(g.kind == "heading" for g in groups),
                "cloze": sum(g.kind == "cloze" for g in groups),
                "pairs_seen": steps * config.groups_per_batch * size,
            },
            "final_loss": round(sum(losses[-50:]) / len(losses[-50:]), 4),
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
