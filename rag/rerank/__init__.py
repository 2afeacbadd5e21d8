"""Second stage of mode rerank: a cross-encoder rescores (question, heading + passage) pairs of the first stage's
best sections.

  artifacts  where the model lives beside the index, its manifest, and is_current(): whether it fits the collection
  model      the cross-encoder (load, score) on torch or, for a reranker trained here on a CPU, on ONNX (onnx)
  focus      narrowing a long passage to the sentences around the best match
  stage      the ranking stage the Retriever runs in mode rerank, with the fallback to hybrid
  train      fine-tuning the domain reranker on the collection (imported on its own: it needs the Retriever)
"""

from __future__ import annotations

from rag.rerank.artifacts import (
    RERANKER_MANIFEST,
    RerankerUnavailable,
    is_current,
    locate,
    read_reranker_manifest,
    reranker_dir,
    reranker_status,
)
from rag.rerank.focus import focus, pair_text
from rag.rerank.model import Candidate, Reranker, load_cross_encoder
from rag.rerank.stage import RerankStage

__all__ = [
    "RERANKER_MANIFEST",
    "Candidate",
    "RerankStage",
    "Reranker",
    "RerankerUnavailable",
    "focus",
    "is_current",
    "load_cross_encoder",
    "locate",
    "pair_text",
    "read_reranker_manifest",
    "reranker_dir",
    "reranker_status",
]
