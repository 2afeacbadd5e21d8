"""Shared fixtures: the real default corpus, the real bundled embedder, and one index built per session."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from pathlib import Path

import pytest

from corpus.model import Document
from corpus.parse import read_document
from index.embed import Embedder
from rag.config import REPO_CORPUS, Settings
from rag.retrieve import Retriever


@pytest.fixture(scope="session")
def seed_doc() -> Document:
    return read_document(REPO_CORPUS)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    e = Embedder(Settings().embed_model, device="cpu")
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
