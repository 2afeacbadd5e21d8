"""The cross-encoder: loaded once from the folder artifacts.locate() names, then scoring (question, passage) pairs."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.embed import pick_device
from index.store import StoredIndex
from rag.config import Settings
from rag.rerank.artifacts import RerankerUnavailable, locate
from rag.rerank.focus import focus
from rag.rerank.onnx import ONNX_FILE, OnnxCrossEncoder, export_cross_encoder


@dataclass
class Candidate:
    """One pair to score: a passage row of the index, and the text the cross-encoder sees for it."""

    row: int
    text: str


class Reranker:
    """Config in __init__, loading in warm_up(index), scoring in rerank()."""

    def __init__(self, settings: Settings, batch_size: int = 32) -> None:
        self.settings = settings
        self.batch_size = batch_size
        self.max_length = settings.rerank_max_length
        self.quantize = settings.rerank_quantize
        self.device = pick_device(settings.device) if settings.device != "auto" else "auto"
        self.source = ""  # the folder the model came from, once loaded
        self._model: Any = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def backend(self) -> str:
        """ "onnx" or "torch" once loaded ("" before)."""
        return self._model.name if self._model is not None else ""

    def warm_up(self, index: StoredIndex) -> None:
        if self._model is not None:
            return
        path = locate(self.settings, index.manifest.corpus_hash)
        trained = not self.settings.reranker_model  # ours: its folder may hold an export, or get one
        self._model = load_cross_encoder(path, self.device, self.max_length, self.quantize, trained)
        self.source = str(path)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        assert self._model is not None, "call warm_up() first"
        return self._model.count_tokens(texts)

    def pair_text(self, question: str, heading: str, text: str) -> str:
        """What the cross-encoder reads of a passage for this question (see focus())."""
        return focus(question, heading, text, self.count_tokens, self.max_length)

    def score(self, question: str, texts: list[str]) -> list[float]:
        """Raw relevance logits, one per text (higher = more relevant)."""
        if not texts:
            return []
        assert self._model is not None, "call warm_up() first"
        return [float(s) for s in self._model.scores(question, texts, self.batch_size)]

    def rerank(
        self, question: str, candidates: list[Candidate], timings: dict[str, float] | None = None
    ) -> list[tuple[int, float]]:
        """(row, score) for every candidate, best first."""
        t = time.perf_counter()
        scores = self.score(question, [c.text for c in candidates])
        if timings is not None:
            timings["rerank"] = (time.perf_counter() - t) * 1000.0
        return sorted(((c.row, s) for c, s in zip(candidates, scores, strict=True)), key=lambda x: (-x[1], x[0]))


class TorchCrossEncoder:
    """sentence-transformers' CrossEncoder: any model, CPU or CUDA, optionally int8 on the CPU."""

    name = "torch"

    def __init__(self, model: Any) -> None:
        self.model = model

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        # verbose=False: whole passages are counted on purpose; the "longer than max length" warning is noise
        return [
            len(ids) for ids in self.model.tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
        ]

    def scores(self, question: str, texts: list[str], batch_size: int) -> np.ndarray:
        import torch

        with torch.inference_mode():
            scores = self.model.predict(
                [(question, t) for t in texts],
                batch_size=batch_size,
                activation_fn=torch.nn.Identity(),
                show_progress_bar=False,
                convert_to_numpy=True,
            )
        return scores.reshape(-1)


def load_cross_encoder(
    path: Path, device: str, max_length: int, quantize: bool = False, trained: bool = False
) -> OnnxCrossEncoder | TorchCrossEncoder:
    """The cross-encoder in `path`. On the CPU a reranker trained here runs on ONNX Runtime (exported into its
    folder on first use: rag.rerank.onnx); anything else (a configured folder, CUDA, int8) on torch."""
    device = pick_device(device)
    if device == "cpu" and not quantize and trained:
        try:
            if not (path / ONNX_FILE).is_file():
                export_cross_encoder(path)
            return OnnxCrossEncoder(path, max_length)
        except Exception:  # any failure (no exporter, a damaged file): the same weights still run on torch
            with contextlib.suppress(OSError):  # a damaged export is made again next time (a read-only folder: not)
                (path / ONNX_FILE).unlink(missing_ok=True)
    from sentence_transformers import CrossEncoder

    try:
        model = CrossEncoder(str(path), device=device, max_length=max_length, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise RerankerUnavailable(f"cannot load the reranker at {path}: {exc}") from None
    if quantize and device == "cpu":
        import torch

        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    model.eval()
    return TorchCrossEncoder(model)
