"""The torch backend: sentence-transformers, for any of its models, on the CPU or a GPU."""

from __future__ import annotations

import numpy as np

from corpus.errors import ModelNotFoundError


class SentenceTransformerBackend:
    name = "torch"

    def __init__(self, model_id: str, model_path: str, device: str) -> None:
        from sentence_transformers import SentenceTransformer

        try:
            self.model = SentenceTransformer(model_path, device=device)
        except OSError as exc:
            raise ModelNotFoundError(f"cannot load embedding model {model_id!r}: {exc}") from None
        self.dim = int(self.model.get_embedding_dimension())
        self.max_seq_length = int(self.model.max_seq_length)

    def tokenizer_json(self) -> str:
        return self.model.tokenizer.backend_tokenizer.to_str()

    def encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        return self.model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
