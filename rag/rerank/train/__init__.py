"""Fine-tuning the domain reranker on the indexed collection: data (training groups), encoder (the frozen,
cached bottom layers), loop (TrainConfig, the optimiser loop, train_reranker)."""

from __future__ import annotations

from rag.rerank.train.data import Group, augment_query, cut_span, make_groups
from rag.rerank.train.encoder import SplitEncoder
from rag.rerank.train.loop import BASE_MODEL, TrainConfig, train_reranker, up_to_date

__all__ = [
    "BASE_MODEL",
    "Group",
    "SplitEncoder",
    "TrainConfig",
    "augment_query",
    "cut_span",
    "make_groups",
    "train_reranker",
    "up_to_date",
]
