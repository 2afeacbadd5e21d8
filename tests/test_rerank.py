"""The cross-encoder reranker: a short real training run on a tiny corpus, loading, fallback, skip when current."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from index.embed import Embedder
from rag.config import Settings
from rag.rerank import RERANKER_MANIFEST, Reranker, RerankerUnavailable, reranker_dir
from rag.retrieve import Retriever
from rag.train_reranker import TrainConfig, train_reranker

TINY = """# Tiny handbook

## How do I water cactus plants?
Cactus plants need water only every two or three weeks. Let the soil dry out completely between waterings.
Overwatering rots the roots faster than drought harms them.

## How do I change a bicycle tyre?
Release the brake and take the wheel off the frame. Lever the old tyre off the rim with two tyre levers.
Fit the new inner tube, then push the tyre bead back over the rim by hand.

## How do I bake sourdough bread?
Feed the starter the night before baking. Mix flour, water, salt and starter, then fold the dough every half hour.
Bake in a hot covered pot for the first twenty minutes so the crust stays soft while the loaf rises.

## How do I tune a guitar?
Tune the low E string to a reference pitch first. Fret the fifth fret of each string to tune the next open string.
The G string is the exception: fret it at the fourth fret to tune the B string.

## How do I descale a kettle?
Fill the kettle with equal parts white vinegar and water and bring it to the boil.
Leave it to soak for an hour, then rinse it several times so the water tastes clean.

## How do I sharpen a kitchen knife?
Hold the blade at a fifteen degree angle against a whetstone soaked in water.
Draw the edge across the stone in smooth strokes, then hone it on a steel.
"""

CONFIG = TrainConfig(steps=30, groups_per_batch=4, negatives=2, lr=2e-4, freeze_layers=2, max_length=96)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> tuple[Settings, Retriever]:
    root = tmp_path_factory.mktemp("tiny")
    corpus = root / "tiny.md"
    corpus.write_text(TINY, encoding="utf-8")
    settings = Settings.from_env(index_dir=root / "idx", corpus_path=corpus, device="cpu", reranker_model="")
    retriever = Retriever(settings, progress=False)
    retriever.embedder = embedder
    retriever.warm_up()
    train_reranker(retriever, CONFIG, progress=False)
    return settings, retriever


def _rerank_retriever(settings: Settings, embedder: Embedder, said: list[str], **changes: object) -> Retriever:
    r = Retriever(settings.replace(mode="rerank", **changes), notify=said.append, progress=False)
    r.embedder = embedder
    r.warm_up()
    return r


def test_trained_reranker_puts_the_right_passage_first(tiny: tuple[Settings, Retriever], embedder: Embedder) -> None:
    settings, base = tiny
    said: list[str] = []
    r = _rerank_retriever(settings, embedder, said, rerank_fusion="score")
    assert said == [] and r.reranker.loaded
    question = "my succulent's roots are rotting, how often should it get water?"
    texts = [f"{p.heading}\n{p.text}" for p in base.index.passages]
    scores = r.reranker.score(question, texts)
    best = base.index.passages[max(range(len(scores)), key=scores.__getitem__)]
    assert "cactus" in best.heading.lower()
    result = r.search(question, k=3)
    assert result.mode == "rerank" and "rerank" in result.timings
    assert "cactus" in result.hits[0].heading.lower()
    manifest = json.loads((reranker_dir(settings.index_dir) / RERANKER_MANIFEST).read_text())
    assert manifest["corpus_hash"] == base.index.manifest.corpus_hash
    assert manifest["steps"] == CONFIG.steps and manifest["seed"] == CONFIG.seed
    assert manifest["pairs"]["heading"] > 0 and manifest["pairs"]["cloze"] > 0


def test_training_is_skipped_when_up_to_date(tiny: tuple[Settings, Retriever]) -> None:
    settings, base = tiny
    path = reranker_dir(settings.index_dir) / RERANKER_MANIFEST
    before = path.read_text()
    said: list[str] = []
    train_reranker(base, CONFIG, notify=said.append, progress=False)
    assert any("up to date" in m for m in said)
    assert path.read_text() == before


def test_loads_a_reranker_from_a_path(tiny: tuple[Settings, Retriever], tmp_path: Path) -> None:
    settings, base = tiny
    copy = tmp_path / "my-cross-encoder"
    shutil.copytree(reranker_dir(settings.index_dir), copy)
    (copy / RERANKER_MANIFEST).unlink()  # any CrossEncoder folder will do: no manifest needed
    reranker = Reranker(settings.replace(reranker_model=str(copy), index_dir=tmp_path / "elsewhere"))
    reranker.warm_up(base.index)
    assert reranker.source == str(copy)
    assert len(reranker.score("how do I tune a guitar?", ["Tune the low E string first.", "Bake bread."])) == 2


def test_missing_reranker_says_so_once_and_serves_hybrid(
    tiny: tuple[Settings, Retriever], embedder: Embedder, tmp_path: Path
) -> None:
    settings, base = tiny
    said: list[str] = []
    r = _rerank_retriever(settings, embedder, said, reranker_model=str(tmp_path / "no-such-model"))
    first = r.search("how do I sharpen a knife?", k=3)
    second = r.search("how do I descale a kettle?", k=3)
    assert len(said) == 1 and "no reranker available" in said[0] and "no-such-model" in said[0]
    assert first.mode == second.mode == "hybrid"
    hybrid = base.search("how do I sharpen a knife?", k=3, mode="hybrid")
    assert [h.section_id for h in first.hits] == [h.section_id for h in hybrid.hits]


def test_reranker_for_another_corpus_is_not_used(tiny: tuple[Settings, Retriever], tmp_path: Path) -> None:
    settings, base = tiny
    index_dir = tmp_path / "idx"
    stale = reranker_dir(index_dir)
    shutil.copytree(reranker_dir(settings.index_dir), stale)
    manifest = json.loads((stale / RERANKER_MANIFEST).read_text())
    manifest["corpus_hash"] = "0" * 64
    (stale / RERANKER_MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(RerankerUnavailable, match="another version"):
        Reranker(settings.replace(index_dir=index_dir)).warm_up(base.index)
