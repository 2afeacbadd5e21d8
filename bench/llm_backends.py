"""Speed of the answer-writing backends on a realistic RAG prompt, on CPU.

    python bench/llm_backends.py [--runs 3] [--backends transformers llama.cpp llama.cpp:2] [--max-new-tokens 128]
    python bench/llm_backends.py --penalty-sweep          # how the repetition penalty changes the answers

Per backend: model load time, time to first token for a ~600-token prompt (system instruction, three numbered
~180-token sources from the bundled document, a question), decode speed and total time for up to 128 new
tokens; medians over --runs. Each run asks a different question with different sources, so llama.cpp's prompt
prefix cache only helps with the shared system instruction, as in real use. "llama.cpp:N" runs llama.cpp on N
threads, "llama.cpp:N,M" on N to decode and M to read the prompt (default: half the cores for both).
Run it on an otherwise idle machine: each row shows the load average.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.config import REPO_CORPUS
from rag.generation.base import ChatModel, Messages, find_repetition
from rag.generation.llamacpp import LlamaCppChat
from rag.generation.models import resolve_llm_model
from rag.generation.transformers import TransformersChat

SYSTEM = (
    "You are a careful assistant for machine-learning interview preparation. Answer the question using only "
    "the numbered sources below, and cite the sources you use like [1]. If the sources do not contain the "
    "answer, say that you do not know."
)
SOURCE_TOKENS = 180


def qa_pairs(corpus: Path) -> list[tuple[str, str]]:
    """(question, answer text) for the document's answered questions: a line ending in '?' followed by bullets."""
    lines = corpus.read_text(encoding="utf-8").splitlines()
    pairs = []
    for i, line in enumerate(lines):
        if line.startswith("- ") or not line.rstrip().endswith("?"):
            continue
        body = []
        for follow in lines[i + 1 :]:
            if not follow.startswith("- ") and body:
                break
            if follow.startswith("- "):
                body.append(follow[2:])
        answer = " ".join(body)
        if len(answer.split()) > 300:  # enough text for a source plus some neighbours' worth
            pairs.append((line.strip(), answer))
    return pairs


def rag_messages(pairs: list[tuple[str, str]], i: int, count_tokens: Callable[[str], int]) -> Messages:
    """Question i with its own answer as source [1] and the next two answers as (distracting) sources."""
    question = pairs[i][0]
    sources = [_clip(pairs[(i + j) % len(pairs)][1], count_tokens) for j in range(3)]
    numbered = "\n\n".join(f"[{n}] {text}" for n, text in enumerate(sources, 1))
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"Sources:\n\n{numbered}\n\nQuestion: {question}"},
    ]


def _clip(text: str, count_tokens: Callable[[str], int]) -> str:
    words = text.split()
    n = SOURCE_TOKENS  # words are ~1.3 tokens: start above and shrink
    while n > 1 and count_tokens(" ".join(words[:n])) > SOURCE_TOKENS:
        n -= 5
    return " ".join(words[:n])


def timed_stream(model: ChatModel, messages: Messages, max_new_tokens: int) -> dict[str, float]:
    """One generation: time to the backend's first token, to the first text the reader sees, and to the end."""
    marks: dict[str, float] = {}
    raw = model._pieces  # the guard holds a few words back, so the backend's own first token is timed here

    def spy(*args: Any) -> Iterator[str]:
        for piece in raw(*args):
            marks.setdefault("first_token", time.perf_counter())
            yield piece

    model._pieces = spy  # type: ignore[method-assign]
    try:
        start = time.perf_counter()
        first_text = None
        for _ in model.stream(messages, max_new_tokens):
            first_text = first_text or time.perf_counter()
        end = time.perf_counter()
    finally:
        del model._pieces
    tokens = model.last_stats.new_tokens
    first = marks.get("first_token", end)
    return {
        "ttft": first - start,
        "first_text": (first_text or end) - start,
        "decode_tps": (tokens - 1) / (end - first) if tokens > 1 and end > first else 0.0,
        "total": end - start,
        "tokens": tokens,
    }


def make(backend: str, gguf: str, **kwargs: Any) -> ChatModel:
    """A backend by name: transformers, llama.cpp, llama.cpp:N or llama.cpp:N,M (threads)."""
    if backend.startswith("llama.cpp"):
        threads = backend.partition(":")[2]  # "N" (decode and prompt) or "N,M" (decode, prompt)
        decode, _, batch = threads.partition(",")
        return LlamaCppChat(
            gguf, n_threads=int(decode) if decode else None, n_threads_batch=int(batch or decode or 0) or None, **kwargs
        )
    return TransformersChat(gguf, device="cpu", **kwargs)


def speed(args: argparse.Namespace, gguf: str) -> None:
    pairs = qa_pairs(REPO_CORPUS)
    counter = LlamaCppChat(gguf)  # its tokenizer is SmolLM2's, and loads in a fraction of a second
    counter.warm_up()

    def count(text: str) -> int:
        return len(counter._llm.tokenize(text.encode(), add_bos=False))

    prompts = [rag_messages(pairs, 7 * i, count) for i in range(args.runs + 1)]  # +1: the warm-up question
    lengths = [count(f"{m[0]['content']}\n{m[1]['content']}") for m in prompts]
    print(f"prompt tokens (content only, template adds ~10): {lengths[1:]}; cores: {len(os.sched_getaffinity(0))}")
    header = f"{'backend':<13}{'load s':>8}{'TTFT s':>8}{'1st text s':>11}{'decode tok/s':>13}{'total s':>9}"
    print(header + f"{'new tokens':>11}  load avg")
    for backend in args.backends:
        loads, runs = [], []
        for _ in range(args.runs):
            model = make(backend, gguf)
            start = time.perf_counter()
            model.warm_up()
            loads.append(time.perf_counter() - start)
            if len(loads) < args.runs:
                del model
        model.generate(prompts[0], 8)  # first call pays one-off costs (thread pools, allocator)
        for messages in prompts[1:]:
            runs.append(timed_stream(model, messages, args.max_new_tokens))
        med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        print(
            f"{backend:<13}{statistics.median(loads):>8.2f}{med['ttft']:>8.2f}{med['first_text']:>11.2f}"
            f"{med['decode_tps']:>13.1f}{med['total']:>9.2f}{med['tokens']:>11.0f}  {os.getloadavg()[0]:.2f}"
        )
        del model


def penalty_sweep(args: argparse.Namespace, gguf: str) -> None:
    """Answer the same questions at several repetition penalties with the loop cut-off off, and report how
    often the answer loops and how much of it is grounded in (copied from) the sources."""
    pairs = qa_pairs(REPO_CORPUS)
    backend = args.backends[-1]
    model = make(backend, gguf, repetition_penalty=1.0, loop_ngram=0)
    model.warm_up()
    count = (
        (lambda t: len(model._llm.tokenize(t.encode(), add_bos=False)))
        if backend.startswith("llama.cpp")
        else (lambda t: len(model._tokenizer(t)["input_ids"]))
    )
    questions = [rag_messages(pairs, 5 * i + 3, count) for i in range(args.questions)]
    print(f"{backend}, {len(questions)} questions, {args.max_new_tokens} new tokens at most, loop cut-off off")
    print(f"{'penalty':>8}{'loops@6':>8}{'loops@8':>8}{'loops@12':>9}{'words':>7}{'grounded':>9}{'recall':>8}")
    for penalty in args.penalties:
        model.repetition_penalty = penalty
        loops = dict.fromkeys((6, 8, 12), 0)  # answers find_repetition flags, by n-gram length
        words, grounded, recall = [], [], []
        for i, messages in enumerate(questions):
            answer = model.generate(messages, args.max_new_tokens)
            for n in loops:
                loops[n] += find_repetition(answer, n) is not None
            said, sources = _content_words(answer), _content_words(messages[1]["content"])
            reference = _content_words(pairs[5 * i + 3][1])
            words.append(len(answer.split()))
            grounded.append(len(said & sources) / max(len(said), 1))
            recall.append(len(said & reference) / max(len(reference), 1))
            if args.show:
                print(f"--- {penalty} q{i}: {answer!r}")
        print(
            f"{penalty:>8.2f}{loops[6]:>8}{loops[8]:>8}{loops[12]:>9}{statistics.mean(words):>7.0f}"
            f"{statistics.mean(grounded):>9.2f}{statistics.mean(recall):>8.2f}"
        )


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["transformers", "llama.cpp"])
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--model", default="smollm2", help="a .gguf file, or smollm2 for the bundled one")
    parser.add_argument("--penalty-sweep", action="store_true")
    parser.add_argument("--penalties", type=float, nargs="+", default=[1.0, 1.05, 1.1, 1.15, 1.2, 1.3])
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--show", action="store_true", help="print every answer of the sweep")
    args = parser.parse_args()
    gguf = resolve_llm_model(args.model)
    if args.penalty_sweep:
        penalty_sweep(args, gguf)
    else:
        speed(args, gguf)


if __name__ == "__main__":
    main()
