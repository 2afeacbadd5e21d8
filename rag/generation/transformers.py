"""The transformers backend: any local causal LM transformers can load, with llama.cpp's repeat penalty."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from corpus.errors import ModelNotFoundError
from index.embed import pick_device
from rag.generation.base import LOOP_NGRAM, REPEAT_WINDOW, REPETITION_PENALTY, ChatModel, Messages


class TransformersChat(ChatModel):
    """Any local causal LM transformers can load: a GGUF file (dequantized), a model folder or a hub id."""

    def __init__(
        self,
        model: str,
        device: str = "auto",
        *,
        repetition_penalty: float = REPETITION_PENALTY,
        loop_ngram: int = LOOP_NGRAM,
    ) -> None:
        super().__init__(loop_ngram=loop_ngram)
        self.repetition_penalty = repetition_penalty
        self.model = model
        self.device = pick_device(device)
        self.name = f"transformers:{Path(model).name if Path(model).exists() else model}"
        self._model: Any = None
        self._tokenizer: Any = None

    def warm_up(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            if self.device.startswith("cuda"):
                dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            else:
                dtype = torch.float32  # half precision on CPU is slower and less accurate
            source, extra = self.model, {}
            if self.model.endswith(".gguf"):
                source, extra = str(Path(self.model).parent), {"gguf_file": Path(self.model).name}
            try:
                self._tokenizer = AutoTokenizer.from_pretrained(source, **extra)
                model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **extra)
            except OSError as e:
                raise ModelNotFoundError(f"cannot load the language model {self.model!r}: {e}") from e
            self._model = model.to(self.device).eval()

    def _prompt(self, messages: Messages) -> str:
        if self._tokenizer.chat_template:
            return self._tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        # Base models have no chat template; a plain transcript is what they continue best.
        turns = "".join(f"{m['role'].capitalize()}: {m['content']}\n" for m in messages)
        return turns + "Assistant:"

    def _pieces(self, messages: Messages, max_new_tokens: int, stop: list[str]) -> Iterator[str]:
        import torch
        from transformers import (
            LogitsProcessorList,
            StoppingCriteriaList,
            TextIteratorStreamer,
        )

        enc = self._tokenizer(self._prompt(messages), return_tensors="pt", add_special_tokens=False)
        enc = enc.to(self.device)
        progress = _Progress(prompt_len=enc["input_ids"].shape[1])
        streamer = TextIteratorStreamer(self._tokenizer, skip_prompt=True, skip_special_tokens=True)
        failure: list[BaseException] = []
        pad_id = self._tokenizer.pad_token_id
        pad_id = self._tokenizer.eos_token_id if pad_id is None else pad_id

        def run() -> None:
            try:
                with torch.inference_mode():
                    self._model.generate(
                        **enc,
                        streamer=streamer,
                        max_new_tokens=max_new_tokens,
                        do_sample=False,
                        # Greedy: unset the sampling knobs a model's generation_config may carry, so
                        # transformers does not warn about them on every call.
                        temperature=None,
                        top_p=None,
                        top_k=None,
                        logits_processor=LogitsProcessorList(
                            [_RecentRepetitionPenalty(progress.prompt_len, self.repetition_penalty)]
                        ),
                        stopping_criteria=StoppingCriteriaList([progress]),
                        pad_token_id=pad_id,
                    )
            except BaseException as e:
                failure.append(e)
                streamer.end()  # otherwise the consumer waits forever for text that never comes

        # generate() blocks until done, so it runs in a thread and the streamer hands us its text.
        thread = threading.Thread(target=run, name="askdoc-generate", daemon=True)
        thread.start()
        try:
            yield from streamer
        finally:
            progress.halt.set()
            thread.join()
            self.last_stats.new_tokens = progress.generated
        if failure:
            raise failure[0]


class _RecentRepetitionPenalty:
    """llama.cpp's repeat penalty as a transformers logits processor: tokens among the last REPEAT_WINDOW
    generated ones get their logit divided by the penalty (multiplied when negative). transformers' own
    repetition_penalty also hits every prompt token, which keeps the model from quoting its sources."""

    def __init__(self, prompt_len: int, penalty: float = REPETITION_PENALTY, window: int = REPEAT_WINDOW) -> None:
        self.prompt_len, self.penalty, self.window = prompt_len, penalty, window

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        recent = input_ids[:, max(self.prompt_len, input_ids.shape[1] - self.window) :]
        if recent.shape[1] == 0 or self.penalty == 1.0:
            return scores
        picked = torch.gather(scores, 1, recent)
        picked = torch.where(picked < 0, picked * self.penalty, picked / self.penalty)
        return scores.scatter(1, recent, picked)


class _Progress:
    """Stopping criterion that counts generated tokens and ends generation once the reader has gone."""

    def __init__(self, prompt_len: int) -> None:
        self.prompt_len = prompt_len
        self.generated = 0
        self.halt = threading.Event()

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        self.generated = input_ids.shape[1] - self.prompt_len
        stop = self.halt.is_set()
        return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)
