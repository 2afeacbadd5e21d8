"""The llama.cpp backend (llama-cpp-python): quantized kernels, the fast path on CPU."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from corpus.errors import InvalidInputError, ModelNotFoundError
from rag.config import Settings
from rag.generation.base import LOOP_NGRAM, REPETITION_PENALTY, ChatModel, Messages


class LlamaCppChat(ChatModel):
    """A GGUF model run by llama.cpp (llama-cpp-python): quantized kernels, the fast path on CPU."""

    def __init__(
        self,
        model_path: str,
        n_ctx: int = Settings.llm_n_ctx,
        n_threads: int | None = None,
        n_threads_batch: int | None = None,
        gpu: bool = False,
        *,
        repetition_penalty: float = REPETITION_PENALTY,
        loop_ngram: int = LOOP_NGRAM,
    ) -> None:
        super().__init__(loop_ngram=loop_ngram)
        self.repetition_penalty = repetition_penalty
        self.model_path = model_path
        self.n_ctx = n_ctx
        # Half the cores, like llama.cpp's own default, not all of them: its threads spin-wait at every op, so
        # when another process holds a core the others stall. Measured on the 2-core dev box while other jobs
        # ran: 2 threads decoded at 0.8-96 tok/s and read a 620-token prompt in 9-18 s; 1 thread gave a steady
        # ~50 tok/s and 4.2 s. On an idle machine 2 threads are faster (bench/llm_backends.py llama.cpp:2).
        self.n_threads = n_threads or max(1, len(os.sched_getaffinity(0)) // 2)
        self.n_threads_batch = n_threads_batch or self.n_threads
        self.gpu = gpu
        self.name = f"llama.cpp:{Path(model_path).name}"
        self._llm: Any = None

    def warm_up(self) -> None:
        with self._lock:
            if self._llm is not None:
                return
            try:
                import llama_cpp
            except (ImportError, OSError) as e:
                raise ModelNotFoundError(
                    f"the llama.cpp backend needs llama-cpp-python, which cannot be imported ({e}): "
                    "pip install llama-cpp-python, or set llm_backend to transformers"
                ) from e
            skip_weight_repacking()
            try:
                self._llm = llama_cpp.Llama(
                    model_path=self.model_path,
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    n_threads_batch=self.n_threads_batch,
                    n_gpu_layers=-1 if self.gpu else 0,
                    verbose=False,
                )
            except ValueError as e:  # llama-cpp-python's "Failed to load model from file"
                raise ModelNotFoundError(f"llama.cpp cannot load {self.model_path}: {e}") from e

    def constrained(self, messages: Messages, grammar: str, max_new_tokens: int) -> str:
        self.warm_up()
        from llama_cpp import LlamaGrammar

        rules = LlamaGrammar.from_string(grammar, verbose=False)
        with self._lock:
            out = self._llm.create_chat_completion(
                messages, grammar=rules, max_tokens=max_new_tokens, temperature=0.0, repeat_penalty=1.0
            )
        return out["choices"][0]["message"]["content"] or ""

    def _pieces(self, messages: Messages, max_new_tokens: int, stop: list[str]) -> Iterator[str]:
        # Stop strings are left to the shared guard: llama.cpp would hold text back for them and merge
        # tokens into one chunk, and here one chunk per token is how tokens get counted.
        chunks = self._llm.create_chat_completion(
            messages,
            stream=True,
            max_tokens=max_new_tokens,
            temperature=0.0,  # llama.cpp's greedy sampler
            repeat_penalty=self.repetition_penalty,
        )
        try:
            for chunk in chunks:
                choice = chunk["choices"][0]
                if choice["finish_reason"]:
                    self.last_stats.finish_reason = "length" if choice["finish_reason"] == "length" else "eos"
                if text := choice["delta"].get("content"):
                    self.last_stats.new_tokens += 1  # a character split over two tokens arrives as one piece
                    yield text
        except ValueError as e:  # the prompt alone fills n_ctx (a long one only gets fewer new tokens)
            raise InvalidInputError(
                f"the prompt is too long for the language model ({e}); ask with fewer sources (k)"
            ) from e
        finally:
            chunks.close()


def skip_weight_repacking() -> None:
    """Make every llama.cpp model this process loads skip llama.cpp's "extra buffer types" (AMX and CPU
    weight repacking).

    A llama.cpp built on a CPU that advertises AMX uses AMX kernels, and on VMs that advertise AMX without
    enabling its tile state the first matrix product dies with SIGSEGV (general protection fault in
    ggml_backend_amx_mul_mat). Llama() has no option for it, so its default model parameters are wrapped.
    Idempotent; the test suite calls it in the llama.cpp server process too.
    """
    import llama_cpp.llama_cpp as lib

    defaults = lib.llama_model_default_params
    if getattr(defaults, "askdoc_no_extra_bufts", False):
        return

    def params() -> Any:
        p = defaults()
        p.use_extra_bufts = False
        return p

    params.askdoc_no_extra_bufts = True  # type: ignore[attr-defined]
    lib.llama_model_default_params = params
