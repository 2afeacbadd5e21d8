"""The bi-encoder: loads once (warm_up), embeds passages and questions into normalised vectors, through the
backend `embed_backend` picks (index/embedders/)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from corpus.errors import InvalidInputError
from index.embedders import EmbedBackend, load_backend
from index.models import resolve_model

# Signs of an NVIDIA driver: without one CUDA cannot be there, and "auto" is settled without importing torch
# (~2 s of a cold start).
_NVIDIA_SIGNS = ("/proc/driver/nvidia/version", "/dev/nvidia0", "/dev/nvidiactl")


def pick_device(requested: str = "auto") -> str:
    if requested.startswith(("cuda", "mps")):
        import torch

        number = int(requested.partition(":")[2] or 0)
        if requested.startswith("mps"):
            there = torch.backends.mps.is_available() and number == 0
        else:
            there = torch.cuda.is_available() and number < torch.cuda.device_count()
        if not there:
            raise InvalidInputError(f"device {requested!r} is not available on this machine; use device cpu or auto")
        return requested
    if requested != "auto":
        return requested
    if not any(os.path.exists(p) for p in _NVIDIA_SIGNS):
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class Embedder:
    def __init__(
        self,
        model: str,
        device: str = "auto",
        batch_size: int = 64,
        backend: str = "auto",
        cache_dir: Path | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        """`backend`: auto, onnx or torch (index.embedders); `cache_dir`: where the onnx backend keeps its export
        (without one, auto means torch)."""
        self.model_id = model
        self.device = device
        self.batch_size = batch_size
        self.backend_setting = backend
        self.cache_dir = cache_dir
        self._notify = notify or (lambda _: None)
        self._backend: EmbedBackend | None = None
        self._counter = None

    def warm_up(self) -> None:
        if self._backend is None:
            path = resolve_model(self.model_id)
            self._backend = load_backend(
                self.backend_setting, self.model_id, path, pick_device(self.device), self.cache_dir, self._notify
            )

    @property
    def backend(self) -> EmbedBackend:
        self.warm_up()
        assert self._backend is not None
        return self._backend

    @property
    def backend_name(self) -> str:
        return self.backend.name

    @property
    def dim(self) -> int:
        return int(self.backend.dim)

    @property
    def max_seq_length(self) -> int:
        return int(self.backend.max_seq_length)

    def count_tokens(self, text: str) -> int:
        """Word pieces without special tokens, as the chunker budgets them."""
        if self._counter is None:
            from tokenizers import Tokenizer

            # A private copy: the model's own tokenizer pads and truncates to the window, which would make
            # every text look exactly window-long.
            counter = Tokenizer.from_str(self.backend.tokenizer_json())
            counter.no_padding()
            counter.no_truncation()
            self._counter = counter
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        vectors = self.backend.encode(texts, self.batch_size, progress)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_in_calls(self, texts: list[str], per_call: int, desc: str, unit: str, progress: bool) -> np.ndarray:
        """embed() `per_call` texts at a time, with a progress bar over the texts (index builds: long work)."""
        from tqdm.auto import tqdm

        vectors = np.zeros((len(texts), self.dim), np.float32)
        bar = tqdm(total=len(texts), desc=desc, unit=unit, disable=not progress or not texts)  # no empty bar
        for start in range(0, len(texts), per_call):
            vectors[start : start + per_call] = self.embed(texts[start : start + per_call])
            bar.update(min(per_call, len(texts) - start))
        bar.close()
        return vectors
