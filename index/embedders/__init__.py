"""Embedding backends of the bi-encoder and the one place that picks one (`embed_backend`, env
ASKDOC_EMBED_BACKEND).

  * "torch": sentence-transformers on torch (torch_st.py). Any sentence-transformers model, CPU or CUDA.
  * "onnx": ONNX Runtime running an ONNX export of the same weights, tokenised by the `tokenizers` package
    (onnx_runtime.py; the export itself: onnx_export.py). It imports neither torch nor transformers, which is
    most of a cold `askdoc ask` on a CPU (bench/results/cold_start.md). CPU only, and only for models that are
    Transformer -> mean Pooling -> Normalize, like the bundled all-MiniLM-L6-v2.
  * "auto" (default): onnx when it can run this model on this device, else torch. Either way it is the same
    model; nothing falls back to another one.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from corpus.errors import InvalidInputError, ModelNotFoundError

EMBED_BACKENDS = ("auto", "onnx", "torch")


class EmbedBackend(Protocol):
    name: str
    dim: int
    max_seq_length: int

    def tokenizer_json(self) -> str: ...

    def encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray: ...


def check_embed_backend(name: str) -> None:
    if name not in EMBED_BACKENDS:
        raise InvalidInputError(f"unknown embed_backend {name!r}; choose one of {', '.join(EMBED_BACKENDS)}")


def onnx_dir(index_dir: Path) -> Path:
    """Where the ONNX export of an index's embedder lives: `<index_dir>.onnx/`, beside the index (like the trained
    reranker): an index rebuild swaps the index directory, the export survives it."""
    index_dir = Path(index_dir)
    return index_dir.parent / f"{index_dir.name}.onnx"


def onnx_unavailable(model_path: str, device: str) -> str:
    """Why the onnx backend cannot embed with this model on this device ("" when it can)."""
    if device != "cpu":
        return f"the onnx backend runs on the CPU only and the device is {device!r}"
    if importlib.util.find_spec("onnxruntime") is None:
        return "onnxruntime is not installed"
    folder = Path(model_path)
    try:
        listed = json.loads((folder / "modules.json").read_text())
        modules = [m["type"].rsplit(".", 1)[-1] for m in listed]
        pooling_dir = next(m["path"] for m in listed if "Pooling" in m["type"])
        pooling = json.loads((folder / pooling_dir / "config.json").read_text())
    except (OSError, ValueError, KeyError, StopIteration):
        return f"{model_path} is not a local sentence-transformers folder with modules.json and a Pooling config"
    mean_only = pooling.get("pooling_mode_mean_tokens") and not any(
        v for k, v in pooling.items() if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens"
    )
    if modules != ["Transformer", "Pooling", "Normalize"] or not mean_only:
        return f"the model is {' -> '.join(modules)} and the onnx backend runs Transformer -> mean Pooling -> Normalize"
    if not (folder / "tokenizer.json").is_file():
        return f"{model_path} has no tokenizer.json"
    return ""


def choose_backend(setting: str, model_path: str, device: str) -> str:
    """The backend `setting` means for this model and device (a resolved device: cpu, cuda, cuda:1 ...)."""
    check_embed_backend(setting)
    if setting == "torch":
        return "torch"
    why_not = onnx_unavailable(model_path, device)
    if setting == "onnx" and why_not:
        raise ModelNotFoundError(f"embed_backend onnx cannot be used: {why_not}; set embed_backend to auto or torch")
    return "torch" if why_not else "onnx"


def load_backend(
    setting: str, model_id: str, model_path: str, device: str, cache_dir: Path | None, notify: Callable[[str], None]
) -> EmbedBackend:
    """A loaded backend for `setting`; the onnx one is exported into `cache_dir` first when it is not there yet
    (or is corrupt, or was exported from other weights)."""
    name = choose_backend(setting, model_path, device)
    if name == "onnx" and cache_dir is None:
        if setting == "onnx":
            raise ModelNotFoundError("embed_backend onnx needs a place for its export (an index directory)")
        name = "torch"  # an embedder used without an index (a script): no place to keep an export
    if name == "onnx" and cache_dir is not None:
        from index.embedders.onnx_runtime import open_onnx

        return open_onnx(model_id, model_path, cache_dir, notify)
    from index.embedders.torch_st import SentenceTransformerBackend

    return SentenceTransformerBackend(model_id, model_path, device)


def backend_status(setting: str, model_id: str, model_path: str, device: str, cache_dir: Path) -> dict[str, object]:
    """What `setting` means here, without loading a model: {"setting", "backend"} and, for onnx, the export's
    "path" and "state" ("ready", or why the next run exports it again)."""
    try:
        name = choose_backend(setting, model_path, device)
    except ModelNotFoundError as exc:
        return {"setting": setting, "backend": None, "error": str(exc)}
    status: dict[str, object] = {"setting": setting, "backend": name}
    if name == "onnx":
        from index.embedders.onnx_runtime import export_problem

        problem = export_problem(cache_dir, model_id, model_path)
        status |= {"path": str(cache_dir), "state": "ready" if not problem else f"to export ({problem})"}
    return status
