"""Training only the top of the cross-encoder, with the frozen bottom's output computed once and cached.

The embeddings and the lowest `freeze_layers` encoder layers are frozen, and because the training pairs are
fixed, their output is computed once per pair and cached; each step then runs only the top layers. That makes a
step ~3x cheaper than full fine-tuning, which is what lets several epochs fit in minutes on a CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rag.rerank.train.data import Group

Cached = tuple[Any, Any]  # per group: (attention mask, bottom hidden states in fp16), cut to the group's width


class SplitEncoder:
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

    def cache(
        self, tokenizer: Any, groups: list[Group], size: int, max_length: int, progress: bool = True
    ) -> list[Cached]:
        """The frozen bottom's output for every group's `size` (query, document) pairs, positive first."""
        import torch
        from tqdm.auto import tqdm

        self.model.eval()  # no dropout in what gets cached
        cached: list[Cached] = []
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
                max_length=max_length,
                return_tensors="pt",
            ).to(self.model.device)
            hidden = self.bottom(features).to(torch.float16)
            mask = features["attention_mask"]
            for j in range(len(part)):
                rows = slice(j * size, (j + 1) * size)
                width = int(mask[rows].sum(dim=1).max())
                cached.append((mask[rows, :width].clone(), hidden[rows, :width].clone()))
        return cached

    def top_of(self, cached: Sequence[Cached]) -> Any:
        """Logits for a batch of cached groups: padded to the widest, run through the top."""
        import torch

        device = self.model.device
        size = cached[0][1].shape[0]
        width = max(hidden.shape[1] for _, hidden in cached)
        hidden = torch.zeros(len(cached) * size, width, self.model.config.hidden_size, device=device)
        mask = torch.zeros(len(cached) * size, width, dtype=torch.long, device=device)
        for j, (group_mask, group_hidden) in enumerate(cached):
            hidden[j * size : (j + 1) * size, : group_hidden.shape[1]] = group_hidden.float()
            mask[j * size : (j + 1) * size, : group_mask.shape[1]] = group_mask
        return self.top(hidden, mask)
