"""The one list of chat backends: the names the CLI and the settings accept, and how each one is built.

This module stays light (no torch, no llama_cpp at import time) because rag.config reads BACKEND_NAMES from it;
the backend modules are imported only when a model is built.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import TYPE_CHECKING

from corpus.errors import InvalidInputError, ModelNotFoundError

if TYPE_CHECKING:
    from rag.config import Settings
    from rag.generation.base import ChatModel


def load_chat_model(settings: Settings) -> ChatModel:
    """The chat model the settings ask for, configured but not loaded (call warm_up() or just use it)."""
    check_backend(settings.llm_backend)
    return BACKENDS[settings.llm_backend](settings)


def check_backend(name: str) -> None:
    if name not in BACKENDS:
        raise InvalidInputError(f"unknown llm_backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")


def _auto(settings: Settings) -> ChatModel:
    model, device = _local_model(settings)
    # On CPU llama.cpp's quantized kernels beat transformers' dequantized fp32 (bench/llm_backends.py);
    # on a GPU transformers runs the model in half precision.
    fast_path = model.endswith(".gguf") and _has_llama_cpp() and device == "cpu"
    return (_llama_cpp if fast_path else _transformers)(settings, model, device)


def _load_transformers(settings: Settings) -> ChatModel:
    return _transformers(settings, *_local_model(settings))


def _load_llama_cpp(settings: Settings) -> ChatModel:
    return _llama_cpp(settings, *_local_model(settings))


def _load_openai(settings: Settings) -> ChatModel:
    from rag.generation.openai import OpenAIChat

    return OpenAIChat(settings.openai_base_url, settings.openai_model, settings.openai_api_key)


def _local_model(settings: Settings) -> tuple[str, str]:
    """(model path or hub id, device) for the in-process backends."""
    from index.embed import pick_device
    from rag.generation.models import resolve_llm_model

    return resolve_llm_model(settings.llm_model), pick_device(settings.device)


def _transformers(settings: Settings, model: str, device: str) -> ChatModel:
    from rag.generation.transformers import TransformersChat

    return TransformersChat(model, device=device)


def _llama_cpp(settings: Settings, model: str, device: str) -> ChatModel:
    if not model.endswith(".gguf"):
        raise InvalidInputError(f"the llama.cpp backend runs .gguf files; {model!r} is not one")
    if not _has_llama_cpp():
        raise ModelNotFoundError(
            "llm_backend is llama.cpp but llama-cpp-python is not installed: pip install llama-cpp-python, "
            "or set llm_backend to transformers"
        )
    from rag.generation.llamacpp import LlamaCppChat

    return LlamaCppChat(
        model, n_ctx=settings.llm_n_ctx, n_threads=settings.llm_threads or None, gpu=device.startswith("cuda")
    )


def _has_llama_cpp() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


# Name -> loader. "auto" picks llama.cpp or transformers for the model and the device.
BACKENDS: dict[str, Callable[[Settings], ChatModel]] = {
    "auto": _auto,
    "transformers": _load_transformers,
    "llama.cpp": _load_llama_cpp,
    "openai": _load_openai,
}
BACKEND_NAMES = tuple(BACKENDS)
