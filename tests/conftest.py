"""Shared fixtures: the real default corpus, the real bundled embedder and LLM, and one index built per session.

Nothing from the caller's shell reaches a test: every ASKDOC_* variable is cleared when this module is imported
(before any settings are built) and again around each test (a test that sets one cannot leak it into the next).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ENV_PREFIX = "ASKDOC_"
for _name in [n for n in os.environ if n.startswith(ENV_PREFIX)]:
    del os.environ[_name]

import shutil  # noqa: E402 - after the environment is cleaned
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

import pytest  # noqa: E402

from corpus.model import Document  # noqa: E402
from corpus.parse import read_document  # noqa: E402
from index.embed import Embedder  # noqa: E402
from rag.config import REPO_CORPUS, Settings  # noqa: E402
from rag.retrieve import Retriever, embedder_for  # noqa: E402

if TYPE_CHECKING:
    from rag.pipeline import AskDoc


@pytest.fixture(autouse=True)
def no_askdoc_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts without ASKDOC_* variables, and whatever it sets (or a command sets for it) is undone."""
    for name in [n for n in os.environ if n.startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)
    before = set(os.environ)
    yield
    for name in set(os.environ) - before:  # set behind monkeypatch's back (e.g. `askdoc serve` passes flags on)
        if name.startswith(ENV_PREFIX):
            del os.environ[name]


@pytest.fixture(scope="session")
def seed_doc() -> Document:
    return read_document(REPO_CORPUS)


@pytest.fixture(scope="session")
def embedder(settings: Settings) -> Embedder:
    """The embedder the product uses on this machine (embed_backend auto: onnx on a CPU), loaded once."""
    e = embedder_for(settings)
    e.warm_up()
    return e


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("index") / "idx"


@pytest.fixture(scope="session")
def settings(index_dir: Path) -> Settings:
    return Settings.from_env(index_dir=index_dir, device="cpu")


@pytest.fixture(scope="session")
def retriever(settings: Settings, embedder: Embedder) -> Retriever:
    """The default corpus, indexed once for the whole session (tests must not modify this index)."""
    r = Retriever(settings, embedder=embedder, progress=False)  # share the loaded model
    r.warm_up()
    return r


@pytest.fixture(scope="session")
def askdoc(settings: Settings, retriever: Retriever) -> AskDoc:
    """One engine for the session: the session index and embedder, and the bundled LLM loaded once (llama.cpp).
    Its answers are generated (answer_style "generate"); a test that wants a quick answer asks for an extractive
    one."""
    from rag.pipeline import AskDoc

    engine = AskDoc(settings.replace(llm_backend="llama.cpp", answer_style="generate"), retriever=retriever)
    engine.warm_up()
    assert engine.llm_name.startswith("llama.cpp")
    return engine


@pytest.fixture
def own_index(tmp_path: Path, retriever: Retriever, settings: Settings) -> Settings:
    """Settings for a private copy of the session index, which a test may damage or extend."""
    assert retriever.index.directory is not None
    target = tmp_path / "idx"
    shutil.copytree(retriever.index.directory, target)
    return settings.replace(index_dir=target)
