"""Chat models that write the answers: one interface (base), one module per backend, one registry."""

from __future__ import annotations

from rag.generation.base import ChatModel
from rag.generation.registry import load_chat_model

__all__ = ["ChatModel", "load_chat_model"]
