"""The bi-encoder: loads once (warm_up), embeds passages and questions into normalised vectors."""

from __future__ import annotations

import numpy as np

from corpus.errors import ModelNotFoundError
from index.models import resolve_model


def pick_device(requested: str = "auto") -> str:
    if requested != "auto":
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class Embedder:
    def __init__(self, model: str, device: str = "auto", batch_size: int = 64) -> None:
        self.model_id = model
        self.device = device
        self.batch_size = batch_size
        self._model = None
        self._counter = None

    def warm_up(self) -> None:
        if self._model is not None:
            return
        from sentence_transformers import SentenceTransformer

        path = resolve_model(self.model_id)
        try:
            self._model = SentenceTransformer(path, device=pick_device(self.device))
        except OSError as exc:
            raise ModelNotFoundError(f"cannot load embedding model {self.model_id!r}: {exc}") from None

    @property
    def model(self):  # type: ignore[no-untyped-def]
        self.warm_up()
        return self._model

    @property
    def dim(self) -> int:
        return int(self.model.get_embedding_dimension())

    @property
    def max_seq_length(self) -> int:
        return int(self.model.max_seq_length)

    def count_tokens(self, text: str) -> int:
        """Word pieces without special tokens, as the chunker budgets them."""
        if self._counter is None:
            from tokenizers import Tokenizer

            # A private copy: the model's own tokenizer pads and truncates to the window, which would make
            # every text look exactly window-long.
            counter = Tokenizer.from_str(self.model.tokenizer.backend_tokenizer.to_str())
            counter.no_padding()
            counter.no_truncation()
            self._counter = counter
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
