"""Ways an index directory gets damaged, each with the file that the error must name (test_index, test_cli)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from index.vectors import build_faiss, save_faiss

Damage = Callable[[Path], None]


def _write(name: str, content: str | bytes) -> Damage:
    def damage(d: Path) -> None:
        (d / name).write_bytes(content) if isinstance(content, bytes) else (d / name).write_text(content)

    return damage


def _remove(name: str) -> Damage:
    def damage(d: Path) -> None:
        shutil.rmtree(d / name) if (d / name).is_dir() else (d / name).unlink()

    return damage


def _edit_json(name: str, key: str, value: object) -> Damage:
    def damage(d: Path) -> None:
        data = json.loads((d / name).read_text())
        data[key] = value
        (d / name).write_text(json.dumps(data))

    return damage


def _truncate(name: str) -> Damage:
    def damage(d: Path) -> None:
        text = (d / name).read_text(encoding="utf-8")
        (d / name).write_text(text[: len(text) // 2], encoding="utf-8")  # cut mid-record

    return damage


def _rewrite_jsonl(name: str, change: Callable[[list[dict[str, object]]], None]) -> Damage:
    def damage(d: Path) -> None:
        rows = [json.loads(line) for line in (d / name).read_text(encoding="utf-8").splitlines()]
        change(rows)
        (d / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    return damage


def _one_vector_short(d: Path) -> None:
    np.save(d / "vectors.npy", np.load(d / "vectors.npy")[:-1])


def _faiss_one_short(d: Path) -> None:
    save_faiss(build_faiss(np.load(d / "vectors.npy")[:-1]), d / "faiss.index")


def _unknown_section(rows: list[dict[str, object]]) -> None:
    rows[-1]["section_id"] = "no-such-section"


# (damage, the file the message names, what it says about it: the message holds f"{file} {says}")
DAMAGES = [
    pytest.param(_write("manifest.json", "{not json"), "manifest.json", "is corrupt", id="manifest-corrupt"),
    pytest.param(_edit_json("manifest.json", "format", 99), "manifest.json", "has format 99", id="format-mismatch"),
    pytest.param(_remove("sections.jsonl"), "sections.jsonl", "is missing", id="sections-missing"),
    pytest.param(_truncate("sections.jsonl"), "sections.jsonl", "is corrupt", id="sections-truncated"),
    pytest.param(_write("sections.jsonl", '{"shape": "wrong"}\n'), "sections.jsonl", "is corrupt", id="sections-rows"),
    pytest.param(_remove("passages.jsonl"), "passages.jsonl", "is missing", id="passages-missing"),
    pytest.param(
        _rewrite_jsonl("passages.jsonl", _unknown_section),
        "passages.jsonl",
        "refers to 1 section missing from sections.jsonl ('no-such-section')",
        id="passage-of-unknown-section",
    ),
    pytest.param(
        _rewrite_jsonl("sections.jsonl", lambda rows: rows.pop(0)),
        "sections.jsonl",
        "holds 261 sections, manifest.json says 262",
        id="section-dropped",
    ),
    pytest.param(_write("vectors.npy", b"\x93NUMPY broken"), "vectors.npy", "is corrupt", id="vectors-corrupt"),
    pytest.param(_one_vector_short, "vectors.npy", "has shape", id="vector-count-mismatch"),
    pytest.param(_write("faiss.index", b"\x00garbage"), "faiss.index", "is corrupt", id="faiss-corrupt"),
    pytest.param(_faiss_one_short, "faiss.index", "holds", id="faiss-count-mismatch"),
    pytest.param(_remove("bm25"), "bm25", "is missing", id="bm25-missing"),
    pytest.param(_write("bm25/vocab.index.json", "{trunc"), "bm25/vocab.index.json", "is corrupt", id="bm25-vocab"),
    pytest.param(_write("bm25/data.csc.index.npy", b"junk"), "bm25/data.csc.index.npy", "is corrupt", id="bm25-data"),
    pytest.param(_remove("bm25/params.index.json"), "bm25/params.index.json", "is missing", id="bm25-params-gone"),
    pytest.param(
        _edit_json("bm25/params.index.json", "num_docs", 3), "bm25/params.index.json", "counts 3", id="bm25-count"
    ),
]
