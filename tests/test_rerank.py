"""The cross-encoder reranker: a short real training run on a tiny corpus, loading, fallback, skip when current."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from servers import child_env, kill_when

from corpus.errors import InvalidInputError
from index import store
from index.embed import Embedder
from index.models import DEFAULT_EMBEDDER, resolve_model
from rag.config import Settings
from rag.rerank import (
    RERANKER_MANIFEST,
    Reranker,
    RerankerUnavailable,
    RerankStage,
    focus,
    load_cross_encoder,
    reranker_dir,
)
from rag.rerank.onnx import ONNX_FILE
from rag.rerank.train import SplitEncoder, TrainConfig, augment_query, train_reranker
from rag.rerank.train.loop import step_plan
from rag.retrieve import Retriever

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
    retriever = Retriever(settings, embedder=embedder, progress=False)
    retriever.warm_up()
    train_reranker(retriever, CONFIG, progress=False)
    return settings, retriever


def _rerank_retriever(settings: Settings, embedder: Embedder, said: list[str], **changes: object) -> Retriever:
    r = Retriever(settings.replace(mode="rerank", **changes), embedder=embedder, notify=said.append, progress=False)
    r.warm_up()
    return r


def test_trained_reranker_puts_the_right_passage_first(tiny: tuple[Settings, Retriever], embedder: Embedder) -> None:
    settings, base = tiny
    said: list[str] = []
    r = _rerank_retriever(settings, embedder, said, rerank_fusion="score")
    assert said == [] and r.rerank_stage.reranker.loaded
    question = "my succulent's roots are rotting, how often should it get water?"
    texts = [f"{p.heading}\n{p.text}" for p in base.index.passages]
    scores = r.rerank_stage.reranker.score(question, texts)
    best = base.index.passages[max(range(len(scores)), key=scores.__getitem__)]
    assert "cactus" in best.heading.lower()
    result = r.search(question, k=3)
    assert result.mode == "rerank" and "rerank" in result.timings
    assert "cactus" in result.hits[0].heading.lower()
    for fusion in ("weighted", "rrf"):  # the fused orders keep the reranker's clear winner first here
        fused = _rerank_retriever(settings, embedder, said, rerank_fusion=fusion).search(question, k=3)
        assert "cactus" in fused.hits[0].heading.lower()
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
    # Each result says why it was not reranked (the log says it once); a plain hybrid search has no notice.
    assert "no-such-model" in second.to_json()["notice"] and second.to_json()["notice"].endswith("mode hybrid")
    hybrid = base.search("how do I sharpen a knife?", k=3, mode="hybrid")
    assert [h.section_id for h in first.hits] == [h.section_id for h in hybrid.hits]
    assert "notice" not in hybrid.to_json()


def test_mode_auto_reranks_once_a_reranker_is_trained_and_is_hybrid_without_a_word_before(
    tiny: tuple[Settings, Retriever], embedder: Embedder, tmp_path: Path
) -> None:
    settings, base = tiny
    question = "how do I sharpen a knife?"
    said: list[str] = []
    trained = Retriever(settings.replace(mode="auto"), embedder=embedder, notify=said.append, progress=False)
    trained.warm_up()
    auto = trained.search(question, k=3)
    rerank = trained.search(question, k=3, mode="rerank")
    assert auto.mode == "rerank" and auto.to_json()["results"] == rerank.to_json()["results"]
    untrained = settings.replace(mode="auto", reranker_model=str(tmp_path / "no-such-model"))
    plain = Retriever(untrained, embedder=embedder, notify=said.append, progress=False)
    plain.warm_up()
    result = plain.search(question, k=3)
    hybrid = base.search(question, k=3, mode="hybrid")
    assert result.mode == "hybrid" and result.to_json()["results"] == hybrid.to_json()["results"]
    assert said == []  # nobody asked for the reranker: its absence is nothing to report


def _serving_when_a_reranker_is_trained(settings: Settings, embedder: Embedder, tmp_path: Path) -> Retriever:
    """A server in mode auto on a copy of the index, searching hybrid (no reranker yet); then a reranker appears
    beside its index, as `askdoc reranker train` would write it meanwhile."""
    index_dir = tmp_path / "idx"
    shutil.copytree(settings.index_dir, index_dir)
    r = Retriever(settings.replace(index_dir=index_dir, mode="auto"), embedder=embedder, progress=False)
    r.warm_up()
    assert r.search("how do I sharpen a knife?", k=3).mode == "hybrid"
    shutil.copytree(reranker_dir(settings.index_dir), reranker_dir(index_dir))
    return r


def test_a_reranker_trained_while_serving_is_used_without_a_restart(
    tiny: tuple[Settings, Retriever], embedder: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rag.rerank.stage as stage

    r = _serving_when_a_reranker_is_trained(tiny[0], embedder, tmp_path)
    assert r.search("how do I sharpen a knife?", k=3).mode == "hybrid"  # not looked for on every search
    monkeypatch.setattr(stage, "RETRY_SECONDS", 0.0)  # as if RETRY_SECONDS had passed
    assert r.search("how do I sharpen a knife?", k=3).mode == "rerank"


def test_a_reranker_trained_while_serving_is_used_from_the_next_index_swap(
    tiny: tuple[Settings, Retriever], embedder: Embedder, tmp_path: Path
) -> None:
    r = _serving_when_a_reranker_is_trained(tiny[0], embedder, tmp_path)
    r.use_index(r.index)  # what follow_disk() does when the collection on disk changes: at once, no waiting
    assert r.search("how do I sharpen a knife?", k=3).mode == "rerank"


def test_a_trained_reranker_runs_on_onnx_with_the_scores_torch_gives(
    tiny: tuple[Settings, Retriever], tmp_path: Path
) -> None:
    """A cold `askdoc ask` in the default mode need not import torch (rag/rerank/onnx.py); same model, same scores."""
    settings, base = tiny
    index_dir = tmp_path / "idx"
    shutil.copytree(reranker_dir(settings.index_dir), reranker_dir(index_dir))
    folder = reranker_dir(index_dir)
    (folder / ONNX_FILE).unlink(missing_ok=True)  # as training leaves it (other tests here loaded the original)
    reranker = Reranker(settings.replace(index_dir=index_dir))
    reranker.warm_up(base.index)  # exports on first use
    assert reranker.backend == "onnx" and (folder / ONNX_FILE).is_file()
    on_torch = load_cross_encoder(folder, "cpu", settings.rerank_max_length)
    assert on_torch.name == "torch"
    texts = [p.text for p in base.index.passages]
    question = "how often should I water a cactus?"
    assert reranker.count_tokens(texts) == on_torch.count_tokens(texts)
    onnx_scores = np.array(reranker.score(question, texts))
    assert np.abs(onnx_scores - on_torch.scores(question, texts, 32)).max() < 1e-4
    assert "Cactus plants need water" in texts[int(np.argmax(onnx_scores))]
    # A damaged export: this load runs the same weights on torch and drops the file; the next one exports again.
    (folder / ONNX_FILE).write_bytes(b"not a model")
    damaged = Reranker(settings.replace(index_dir=index_dir))
    damaged.warm_up(base.index)
    assert damaged.backend == "torch" and not (folder / ONNX_FILE).exists()
    again = Reranker(settings.replace(index_dir=index_dir))
    again.warm_up(base.index)
    assert again.backend == "onnx" and np.allclose(again.score(question, texts), onnx_scores, atol=1e-5)


def test_concurrent_first_searches_load_and_export_the_reranker_once(
    tiny: tuple[Settings, Retriever], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import rag.rerank.model as model

    settings, base = tiny
    index_dir = tmp_path / "idx"
    shutil.copytree(reranker_dir(settings.index_dir), reranker_dir(index_dir))
    (reranker_dir(index_dir) / ONNX_FILE).unlink(missing_ok=True)
    exports: list[Path] = []
    real = model.export_cross_encoder

    def counted(folder: Path) -> None:
        exports.append(folder)
        real(folder)

    monkeypatch.setattr(model, "export_cross_encoder", counted)
    stage = RerankStage(settings.replace(index_dir=index_dir))
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(stage.ready(base.index))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 4 and len(exports) == 1 and stage.reranker.backend == "onnx"


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


def _words(texts: object) -> list[int]:
    return [len(t.split()) for t in texts]  # type: ignore[attr-defined]


def test_focus_keeps_the_sentences_that_match_the_question() -> None:
    filler = " ".join(f"Sentence {i} talks about unrelated matters at some length here." for i in range(20))
    text = filler + " The learning rate warmup lasts for two thousand steps in this recipe."
    short = "Warmup is short."
    assert focus("how long is the warmup?", "Training", short, _words, 64) == "Training\nWarmup is short."
    narrowed = focus("how many steps does the learning rate warmup last?", "Training", text, _words, 40)
    assert narrowed.startswith("Training\n") and "two thousand steps" in narrowed
    assert sum(_words([narrowed])) <= 40 and "Sentence 0 " not in narrowed
    # no shared term: the start of the passage, still within the budget
    start = focus("zebra?", "Training", text, _words, 40)
    assert "Sentence 0 " in start and sum(_words([start])) <= 40
    assert focus("q", "Heading only", "", _words, 40) == "Heading only"


def test_augmented_queries_are_seeded_and_look_typed() -> None:
    query = "What is the difference between bagging and boosting?"
    first, second = random.Random(3), random.Random(3)
    one = [augment_query(query, first) for _ in range(200)]
    assert one == [augment_query(query, second) for _ in range(200)]
    forms = set(one)
    assert query in forms and query.lower() in forms
    assert "difference bagging boosting" in forms  # keywords only
    assert any(f not in (query, query.lower(), "difference bagging boosting") for f in forms)  # typos


def test_split_encoder_matches_the_full_forward_pass() -> None:
    import torch
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(resolve_model(DEFAULT_EMBEDDER), num_labels=1, max_length=64, device="cpu")
    model.model.eval()
    features = model.tokenizer(
        ["what is dropout?", "what is dropout?"],
        ["Dropout zeroes random activations.", "Batch norm rescales each mini-batch by its statistics."],
        padding=True,
        return_tensors="pt",
    )
    with torch.inference_mode():
        full = model.model(**features).logits.view(-1)
        split = SplitEncoder(model.model, 3)
        parts = split.top(split.bottom(features), features["attention_mask"])
    assert torch.allclose(full, parts, atol=1e-4)


def test_rerank_weight_is_validated() -> None:
    with pytest.raises(InvalidInputError, match="rerank_weight"):
        Settings.from_env(rerank_weight=1.5)
    with pytest.raises(InvalidInputError, match="rerank_fusion"):
        Settings.from_env(rerank_fusion="max")


def test_index_build_trains_the_reranker_when_mode_is_rerank(tmp_path: Path) -> None:
    corpus = tmp_path / "tiny.md"
    corpus.write_text(TINY, encoding="utf-8")
    index_dir = tmp_path / "idx"
    env = child_env(index_dir=str(index_dir), corpus_path=str(corpus), device="cpu", mode="rerank", reranker_model="")
    askdoc = shutil.which("askdoc") or str(Path(sys.executable).parent / "askdoc")

    def build(*flags: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [askdoc, "index", "build", *flags], capture_output=True, text=True, env=env, timeout=300, check=False
        )

    skipped = build("--no-reranker")
    assert skipped.returncode == 0, skipped.stderr
    assert not reranker_dir(index_dir).exists()
    trained = build()
    assert trained.returncode == 0, trained.stderr
    assert "trained the reranker" in trained.stderr
    manifest = json.loads((reranker_dir(index_dir) / RERANKER_MANIFEST).read_text())
    assert manifest["config"]["version"] == TrainConfig().version and manifest["steps"] > 0


def test_tiny_collections_train_or_say_why(tmp_path: Path, embedder: Embedder) -> None:
    def retriever_for(text: str, name: str) -> Retriever:
        corpus = tmp_path / f"{name}.md"
        corpus.write_text(text, encoding="utf-8")
        settings = Settings.from_env(index_dir=tmp_path / name, corpus_path=corpus, device="cpu", reranker_model="")
        r = Retriever(settings, embedder=embedder, progress=False)
        r.warm_up()
        return r

    two = TINY.split("## How do I bake")[0]  # two sections: fewer other passages than negatives per group
    out = train_reranker(retriever_for(two, "two"), TrainConfig(steps=2, max_length=64), progress=False)
    assert (out / RERANKER_MANIFEST).is_file()
    one = "## How do I change" + TINY.split("## How do I change")[1].split("## How do I bake")[0]
    with pytest.raises(InvalidInputError, match="at least two sections"):
        train_reranker(retriever_for(one, "one"), TrainConfig(steps=2), progress=False)


def test_a_kill_during_training_keeps_the_previous_reranker(tiny: tuple[Settings, Retriever], tmp_path: Path) -> None:
    settings, _ = tiny
    index_dir = tmp_path / "idx"
    shutil.copytree(settings.index_dir, index_dir)
    shutil.copytree(reranker_dir(settings.index_dir), reranker_dir(index_dir))
    before = (reranker_dir(index_dir) / RERANKER_MANIFEST).read_text()
    argv = [sys.executable, "-m", "cli.main", "reranker", "train", "--steps", "5000", "--index-dir", str(index_dir)]
    env = child_env(corpus_path=str(settings.corpus_path), device="cpu", reranker_model="")
    kill_when(argv, env, lambda err: b"Training reranker" in err)  # killed mid-training, new weights not yet saved
    assert (reranker_dir(index_dir) / RERANKER_MANIFEST).read_text() == before
    reranker = Reranker(settings.replace(index_dir=index_dir))
    reranker.warm_up(store.load(index_dir))  # the trained one still loads, and is still the current one
    scores = reranker.score("how do I tune a guitar?", ["Tune the low E string first.", "Bake bread."])
    assert scores[0] > scores[1] and not list(index_dir.parent.glob(f".{reranker_dir(index_dir).name}.tmp-*"))


def test_a_short_run_encodes_only_the_groups_it_meets() -> None:
    config = TrainConfig(groups_per_batch=8)
    plan, used = step_plan(1000, 2, config)
    assert len(plan) == 2 and all(len(b) == 8 for b in plan) and len(used) == 16 < 1000
    full, everything = step_plan(10, 5, config)  # 40 draws of 10 groups: each pass meets them all
    assert everything == list(range(10)) and full[:2] == step_plan(10, 2, config)[0]  # the same batches, in order
