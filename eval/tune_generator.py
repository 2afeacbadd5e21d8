"""A generator fine-tuned in-project for the answer job (issue 11), built and measured as a study.

    python -m eval.tune_generator [--minutes 30] [--top-layers 8] [--out DIR]
    ASKDOC_LLM_MODEL=DIR/model.gguf askdoc eval --split tune --modes hybrid --answers --styles generate

Examples come from the corpus only, never from the eval set: each section's heading (the guide's headings are
questions) and the generated questions of `eval/data/doc2query.jsonl` (each answered by its own passage). Every
question goes through the product's own retrieval and evidence scoring, so the model is trained on exactly the
prompt `generate` gives it (rag.prompt.build_messages, the best sentences of the top sections, numbered); the
target is the gold section's sentences as the prompt shows them, each followed by its [n]. A question whose
gold section is not among the sources is left out (the model would learn to answer from the wrong one).

The bundled SmolLM2-135M (GGUF, dequantized by transformers) is trained on a CPU within a time budget: only its
top layers and final norm (a partial fine-tune; peft is not installed and the backward pass through the frozen
layers is what a CPU cannot afford), the loss on the answer tokens only (logits for those positions alone: the
49k-word output layer over the whole prompt would cost more than the layers). The trained tensors are written
into a copy of the bundled GGUF (eval.gguf_patch), so llama.cpp runs it as fast as the original:
`<index_dir>.generator/model.gguf` (default) with a manifest; built, never committed.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.doc2query import QUESTIONS_FILE, QuestionCache, passage_hash
from eval.gguf_patch import patch_gguf
from index.atomic import staged_dir
from rag.config import Settings
from rag.evidence import prompt_sentences, to_sources
from rag.generation.models import BUNDLED_LLM, resolve_llm_model
from rag.pipeline import AskDoc
from rag.prompt import build_messages

MANIFEST = "generator_manifest.json"
MODEL_FILE = "model.gguf"


@dataclass
class Example:
    question: str
    messages: list[dict[str, str]]
    target: str


def questions(engine: AskDoc, seed: int) -> list[tuple[str, str]]:
    """(question, gold section id): every heading of the collection and every kept doc2query question, shuffled."""
    index = engine.retriever.index
    pairs = [(s.heading, s.id) for s in index.sections.values()]
    cache = QuestionCache(QUESTIONS_FILE)
    for p in index.passages:
        pairs += [(q, p.section_id) for q in cache.get(passage_hash(p.indexed_text))]
    pairs = list(dict.fromkeys(pairs))
    random.Random(seed).shuffle(pairs)
    return pairs


def make_example(engine: AskDoc, question: str, gold: str) -> Example | None:
    """The prompt the product builds for `question` and the answer that quotes the gold source; None when the
    gold section is not among the sources."""
    query, _ = engine.retriever.prepare(question)
    draft = engine.gather(question, query, None, None, time.perf_counter())
    sources = to_sources(prompt_sentences(draft.evidence, engine.evidence), draft.hits)
    source = next((s for s in sources if s.section_id == gold), None)
    if source is None:
        return None
    target = " ".join(f"{text} [{source.n}]" for text in source.sentences)
    return Example(question, build_messages(query, sources), target)


def load_model(top_layers: int) -> tuple[Any, Any]:
    """The bundled model in fp32 with only its top layers and final norm trainable, and its tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM

    path = Path(resolve_llm_model(BUNDLED_LLM))
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    for param in model.parameters():
        param.requires_grad_(False)
    for module in [*model.model.layers[-top_layers:], model.model.norm]:
        for param in module.parameters():
            param.requires_grad_(True)
    return model, load_tokenizer()


def load_tokenizer() -> Any:
    """The bundled model's tokenizer, read from its GGUF file."""
    from transformers import AutoTokenizer

    path = Path(resolve_llm_model(BUNDLED_LLM))
    return AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)


def encode(tokenizer: Any, example: Example) -> tuple[list[int], list[int]]:
    """(prompt ids, answer ids ending with the end-of-turn token)."""
    prompt = tokenizer.apply_chat_template(example.messages, tokenize=False, add_generation_prompt=True)
    answer = example.target + tokenizer.eos_token
    return tokenizer(prompt, add_special_tokens=False).input_ids, tokenizer(answer, add_special_tokens=False).input_ids


def train(model: Any, batches: Iterable[tuple[list[int], list[int]]], args: argparse.Namespace) -> dict[str, Any]:
    """Steps of `args.accumulate` examples until the examples or the time budget run out."""
    import torch

    torch.manual_seed(args.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    model.train()
    start, losses, seen = time.monotonic(), [], 0
    for prompt, answer in batches:
        if time.monotonic() - start > args.minutes * 60:
            break
        ids = torch.tensor([prompt + answer])
        # Logits only for the positions that predict the answer: the one before it and its own but the last.
        logits = model(input_ids=ids, logits_to_keep=len(answer) + 1).logits[0, :-1]
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor(answer))
        (loss / args.accumulate).backward()
        losses.append(loss.item())
        seen += 1
        if seen % args.accumulate == 0:
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            optimizer.zero_grad()
        if seen % 20 == 0:
            print(f"  {seen} examples, {time.monotonic() - start:.0f} s, loss (last 20) {sum(losses[-20:]) / 20:.3f}")
    model.eval()
    return {
        "examples_trained": seen,
        "train_seconds": round(time.monotonic() - start),
        "first_loss": round(sum(losses[:20]) / max(1, len(losses[:20])), 4),
        "final_loss": round(sum(losses[-20:]) / max(1, len(losses[-20:])), 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0, help="CPU time budget for training")
    ap.add_argument("--top-layers", type=int, default=8, help="how many of the 30 layers are trained")
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--accumulate", type=int, default=4, help="examples per optimizer step")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", type=Path, help="default: <index_dir>.generator beside the index")
    args = ap.parse_args()
    settings = Settings.from_env()
    out = args.out or settings.index_dir.parent / f"{settings.index_dir.name}.generator"
    engine = AskDoc(settings, progress=False)
    engine.warm_up(llm=False)
    model, tokenizer = load_model(args.top_layers)
    pairs = questions(engine, args.seed)
    asked, skipped = [0], [0]

    def examples() -> Iterator[tuple[list[int], list[int]]]:
        # Made as training goes: a CPU budget ends training long before the ~1,500 questions are used.
        for question, gold in pairs:
            asked[0] += 1
            if example := make_example(engine, question, gold):
                yield encode(tokenizer, example)
            else:
                skipped[0] += 1

    stats = train(model, examples(), args)
    print(f"{stats}; {asked[0]} of {len(pairs)} questions asked, {skipped[0]} left out (gold not among the sources)")
    manifest = {
        "base": "smollm2 (bundled GGUF, dequantized)",
        "corpus_hash": engine.retriever.index.manifest.corpus_hash,
        "questions": len(pairs),
        "questions_asked": asked[0],
        "questions_left_out": skipped[0],
        **stats,
        **{k: v for k, v in vars(args).items() if k != "out"},
    }
    state = {name: p.detach().numpy() for name, p in model.named_parameters() if p.requires_grad}
    with staged_dir(out) as tmp:
        patch_gguf(Path(resolve_llm_model(BUNDLED_LLM)), state, tmp / MODEL_FILE)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    print(f"saved; answer with it: ASKDOC_LLM_MODEL={out / MODEL_FILE} askdoc ask --style generate QUESTION")


if __name__ == "__main__":
    main()
