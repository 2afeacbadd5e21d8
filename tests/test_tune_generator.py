"""The fine-tuned generator study (eval.tune_generator): its examples are the product's own prompt with the gold
source quoted, and the trained weights reach llama.cpp intact (eval.gguf_patch)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from eval.gguf_patch import patch_gguf
from eval.tune_generator import encode, load_model, load_tokenizer, make_example, questions
from rag.generation.models import BUNDLED_LLM, resolve_llm_model
from rag.pipeline import AskDoc


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    """Read once for this file."""
    return load_tokenizer()


def test_an_example_is_the_products_prompt_with_the_gold_source_quoted(askdoc: AskDoc) -> None:
    section = next(s for s in askdoc.retriever.index.sections.values() if "focal loss" in s.heading.lower())
    example = make_example(askdoc, section.heading, section.id)
    assert example is not None
    prompt = example.messages[1]["content"]
    n = re.search(rf"\[(\d+)\] {re.escape(section.heading)}\n", prompt)
    assert n is not None, "the gold section is one of the numbered sources"
    quoted = re.findall(r"(.+?) \[(\d+)\]", example.target)
    assert quoted and all(number == n.group(1) for _, number in quoted)  # every sentence cites the gold source
    assert all(text.strip() in prompt for text, _ in quoted)  # and is copied from it
    assert make_example(askdoc, section.heading, "no-such-section") is None


def test_encode_ends_the_answer_with_the_end_of_turn_token(askdoc: AskDoc, tokenizer: Any) -> None:
    section = next(iter(askdoc.retriever.index.sections.values()))
    example = make_example(askdoc, section.heading, section.id)
    assert example is not None
    prompt, answer = encode(tokenizer, example)
    assert tokenizer.decode(prompt).endswith("<|im_start|>assistant\n")
    assert answer[-1] == tokenizer.eos_token_id and tokenizer.decode(answer[:-1]) == example.target


def test_weights_written_into_the_gguf_give_llama_cpp_the_logits_transformers_computes(tmp_path: Path) -> None:
    """Every layer replaced by its dequantized weights: llama.cpp must then compute what transformers does with
    them. A wrong q/k layout (no permutation) gives max |Δlogit| ≈ 28 and 46 % top-1 agreement here."""
    import torch
    from llama_cpp import Llama

    model, _ = load_model(top_layers=30)
    state = {name: p.detach().numpy() for name, p in model.named_parameters() if p.requires_grad}
    out = tmp_path / "model.gguf"
    patch_gguf(Path(resolve_llm_model(BUNDLED_LLM)), state, out)
    prompt = "<|im_start|>user\nWhat is focal loss used for?<|im_end|>\n<|im_start|>assistant\nFocal loss"
    llm = Llama(str(out), n_ctx=256, verbose=False, logits_all=True)
    tokens = llm.tokenize(prompt.encode(), special=True)
    llm.eval(tokens)
    ours = np.array(llm.scores[: len(tokens)])
    with torch.no_grad():
        theirs = model(input_ids=torch.tensor([tokens])).logits[0].numpy()
    assert np.abs(ours - theirs).max() < 2.0  # measured 0.49: llama.cpp quantizes activations for the Q8 output
    assert (ours.argmax(-1) == theirs.argmax(-1)).mean() >= 0.95


def test_training_moves_only_the_top_layers_and_learns_the_answer(askdoc: AskDoc, tokenizer: Any) -> None:
    import argparse

    import torch

    from eval.tune_generator import train

    model, _ = load_model(top_layers=2)
    section = next(s for s in askdoc.retriever.index.sections.values() if "focal loss" in s.heading.lower())
    example = make_example(askdoc, section.heading, section.id)
    assert example is not None
    frozen, trained = model.model.layers[0].mlp.up_proj.weight, model.model.layers[-1].mlp.up_proj.weight
    before = frozen.detach().clone(), trained.detach().clone()
    args = argparse.Namespace(minutes=5.0, lr=1e-4, accumulate=1, seed=0)
    stats = train(model, [encode(tokenizer, example)] * 6, args)
    assert stats["examples_trained"] == 6
    assert torch.equal(frozen, before[0]) and not torch.equal(trained, before[1])
    prompt, answer = encode(tokenizer, example)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([prompt + answer])).logits[0, len(prompt) - 1 : -1]
    after = float(torch.nn.functional.cross_entropy(logits, torch.tensor(answer)))
    assert after < 0.8 * stats["first_loss"]  # the answer tokens (and only they) were the target


def test_the_question_pool_holds_every_heading_and_the_generated_questions(askdoc: AskDoc) -> None:
    pool = questions(askdoc, seed=0)
    sections = askdoc.retriever.index.sections.values()
    assert {(s.heading, s.id) for s in sections} <= set(pool)
    assert len(pool) > len(sections) + 1000  # the kept doc2query questions too
