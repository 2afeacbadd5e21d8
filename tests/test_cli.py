"""The `askdoc` command line on the real index and models: in process (cli.main.main, output captured) and once
as the installed console script in a process of its own."""

from __future__ import annotations

import io
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from index_damage import DAMAGES, Damage
from servers import child_env

from cli.main import main
from index import store
from rag.config import Settings, collection_dir
from rag.refusal import REASONS
from rag.rerank import RERANKER_MANIFEST, reranker_dir
from rag.rerank.artifacts import train_hint
from rag.retrieve import Retriever

ASKDOC = shutil.which("askdoc") or str(Path(sys.executable).parent / "askdoc")
LABEL_SMOOTHING = "explain-label-smoothing"
RUNBOOK = "# Runbook\n## Rotating keys\nKeys rotate every 90 days via the vault job.\n"


def askdoc(capsys: pytest.CaptureFixture[str], index_dir: Path, *args: str) -> tuple[int, str, str]:
    """`askdoc ARGS --index-dir INDEX_DIR --device cpu` in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main([*args, "--index-dir", str(index_dir), "--device", "cpu"])
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line_error(code: int, err: str) -> str:
    """The command failed as a user mistake: exit 2, and stderr ends with one line `askdoc: error: ...` (before
    it, at most what loading the models printed). Returns that line."""
    assert code == 2 and "Traceback" not in err, err
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith("askdoc: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], err
    return errors[0]


def test_search_json_from_the_installed_script(retriever: Retriever, index_dir: Path) -> None:
    env = child_env(index_dir=str(index_dir), device="cpu")
    args = [ASKDOC, "search", "what is a seed in LLM sampling", "--json", "--k", "3"]
    out = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["query"] == "what is a seed in LLM sampling" and data["mode"] == "hybrid"
    assert len(data["results"]) == 3
    assert all(set(r) >= {"rank", "section_id", "heading", "category", "score", "snippet"} for r in data["results"])


def test_batch_mode_keeps_order_and_survives_bad_lines(
    retriever: Retriever, index_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    questions = ["what is redis", "", "explain label smoothing", "x" * 3000]
    # Lines ended as a Windows editor ends them: the CR is not part of the question.
    monkeypatch.setattr(sys, "stdin", io.StringIO("\r\n".join(questions) + "\r\n"))
    code, out, err = askdoc(capsys, index_dir, "search", "-", "--mode", "bm25", "--k", "2")
    # Every line is answered, and a script still learns from the exit code that some failed.
    assert code == 2 and "2 of 4 questions failed" in err, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["query"] for r in rows] == questions
    assert rows[0]["results"][0]["heading"] == "What is Redis?"
    assert rows[1]["results"] == [] and "empty" in rows[1]["error"] and rows[1]["collection"] == "default"
    assert rows[2]["results"][0]["heading"] == "Explain Label Smoothing"
    assert "limit" in rows[3]["error"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("what is redis\n"))
    code, out, err = askdoc(capsys, index_dir, "search", "-", "--mode", "bm25")
    assert code == 0 and "error" not in json.loads(out) and not err, err


def test_search_human_output(retriever: Retriever, index_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = askdoc(capsys, index_dir, "search", "explain label smoothing", "--k", "1")
    assert code == 0 and out.startswith("1. Explain Label Smoothing\n")


@pytest.mark.parametrize("command", ["search", "ask"])
def test_a_corrected_typo_is_said(
    retriever: Retriever, index_dir: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    code, out, err = askdoc(capsys, index_dir, command, "explain label smothing")
    assert code == 0 and "Label Smoothing" in out
    assert "askdoc: searched for 'smoothing' (typed 'smothing')" in err


def test_ask_prints_the_answer_then_its_sources(
    retriever: Retriever, index_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = askdoc(capsys, index_dir, "ask", "What is label smoothing?")
    assert code == 0, err
    answer, sources = out.split("\nSources:\n")
    assert answer.strip() and "Nearest sections" not in out
    cited = set(re.findall(r"\[(\d+)\]", answer))
    listed = re.findall(r"^  \[(\d+)\] (.+)  \[([^\]]+)\]$", sources, re.MULTILINE)
    assert len(listed) == len(sources.strip().splitlines()) > 0, sources  # every line a source, nothing else
    assert {n for n, _, _ in listed} == cited  # the sources are what the answer cites, and all of it
    assert LABEL_SMOOTHING in {sid for _, _, sid in listed}


def test_ask_refused_prints_the_nearest_sections(
    retriever: Retriever, index_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = askdoc(capsys, index_dir, "ask", "What is the boiling point of water in Celsius?")
    assert code == 0, err
    answer, nearest = out.split("\nNearest sections:\n")
    assert answer.strip() and "Sources:" not in out
    # The question's words the collection never uses, as typed: what to rephrase or which document to add.
    assert answer.strip().endswith("It never mentions: boiling, water, Celsius.")
    why = re.search(r"^Why: (.+)\.$", answer, re.MULTILINE)  # what pulled the verdict down (rag/refusal.py)
    assert why and set(why.group(1).split("; ")) <= set(REASONS.values()), answer
    nearest, hint = nearest.split("\n\n")
    listed = re.findall(r"^  - (.+)  \[([^\]]+)\]$", nearest, re.MULTILINE)
    assert len(listed) == len(nearest.strip().splitlines()) == 3, nearest
    assert all(sid in retriever.index.sections for _, sid in listed)
    assert hint.strip() == "(A wrong refusal? --refuse-below 0 answers anyway.)"


def test_a_refusal_lists_at_most_eight_unknown_words(index_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    names = "Zorblax Quintar Flumph Vexnor Draxil Plimbo Ortwen Qwixotl Yubbet Grelm"
    code, out, err = askdoc(capsys, index_dir, "ask", f"How do {names} compare?")
    assert code == 0, err
    assert "It never mentions: Zorblax, Quintar, Flumph, Vexnor, Draxil, Plimbo, Ortwen, Qwixotl, and 2 more." in out
    code, out, err = askdoc(capsys, index_dir, "ask", "--json", f"How do {names} compare?")
    assert json.loads(out)["refusal"]["unknown_words"] == names.split()  # the JSON keeps them all


def test_refuse_below_zero_answers_a_question_that_would_be_refused(
    retriever: Retriever, index_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    question = "What is the boiling point of water in Celsius?"
    code, out, err = askdoc(capsys, index_dir, "ask", "--json", "--refuse-below", "0", question)
    data = json.loads(out)
    assert code == 0 and not data["refused"] and data["citations"] and data["sentences"], err
    assert data["refusal"]["covered"] < 0.5  # the default threshold would have refused it


@pytest.mark.parametrize("value", ["2", "-0.1"])
def test_refuse_below_must_be_a_probability(index_dir: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    code, out, err = askdoc(capsys, index_dir, "ask", "--refuse-below", value, "What is dropout?")
    assert "refuse_below must be between 0 and 1" in one_line_error(code, err) and out == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["search", "   "], "the question is empty", id="search-empty"),
        pytest.param(["search", "hi", "--k", "0"], "k must be between", id="search-k"),
        pytest.param(["ask", "   "], "the question is empty", id="ask-empty"),
        pytest.param(["ask", "x" * 2001], "the limit is 2000", id="ask-too-long"),
        pytest.param(["ask", "hi", "--k", "51"], "k must be between", id="ask-k"),
        pytest.param(["ask", "-", "--k", "0"], "k must be between", id="ask-batch-k"),
    ],
)
def test_user_mistakes_exit_2_without_traceback(
    retriever: Retriever, index_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = askdoc(capsys, index_dir, *args)
    assert message in one_line_error(code, err) and out == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["search", "lora", "--device", "tpu"], "unknown device 'tpu'", id="device-unknown"),
        pytest.param(["search", "lora", "--device", "cuda:99"], "'cuda:99' is not available", id="device-absent"),
        pytest.param(["search", "lora", "--index-dir", __file__], "is a file; give a folder", id="index-dir-file"),
    ],
)
def test_a_wrong_device_or_index_folder_is_one_line(
    index_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    capsys.readouterr()
    code = main(args if "--index-dir" in args else [*args, "--index-dir", str(index_dir)])
    assert message in one_line_error(code, capsys.readouterr().err)


@pytest.mark.parametrize(
    "args",
    [
        ["serve", "--port", "99999"],
        ["serve", "--port", "http"],
        ["serve", "--workers", "0"],
        ["reranker", "train", "--steps", "-5"],
        ["reranker", "train", "--epochs", "0"],
        ["ask", "lora", "--extractive", "--style", "generate"],
    ],
)
def test_an_option_out_of_range_or_contradicting_another_is_refused_before_loading_anything(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(args)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and f"argument {args[-2]}:" in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["search", "ask"])
@pytest.mark.parametrize(("damage", "name", "says"), DAMAGES)
def test_damaged_index_is_one_line_naming_the_file(
    own_index: Settings, capsys: pytest.CaptureFixture[str], command: str, damage: Damage, name: str, says: str
) -> None:
    damage(own_index.index_dir)
    code, out, err = askdoc(capsys, own_index.index_dir, command, "what is redis")
    line = one_line_error(code, err)
    assert f"{name} {says}" in line and str(own_index.index_dir) in line and "--rebuild" in line
    assert out == ""


def test_info_still_reads_an_index_with_a_corrupt_faiss_file(
    own_index: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    (own_index.index_dir / "faiss.index").write_bytes(b"not faiss")
    code, out, err = askdoc(capsys, own_index.index_dir, "index", "info", "--json")
    assert code == 0 and json.loads(out)["counts"]["sections"] == 262, err


def _reranker_info(capsys: pytest.CaptureFixture[str], index_dir: Path) -> tuple[dict[str, Any], str]:
    """(the reranker of `index info --json`, the reranker line of `index info`)."""
    code, out, err = askdoc(capsys, index_dir, "index", "info", "--json")
    assert code == 0, err
    status = json.loads(out)["reranker"]
    code, out, err = askdoc(capsys, index_dir, "index", "info")
    assert code == 0, err
    (line,) = [x for x in out.splitlines() if x.startswith("reranker:")]
    (mode,) = [x for x in out.splitlines() if x.startswith("mode:")]
    assert status["path"] in line
    serves = json.loads(askdoc(capsys, index_dir, "index", "info", "--json")[1])["mode"]
    assert mode.split()[1] == serves == ("rerank" if status["state"] in ("current", "configured") else "hybrid")
    return status, line


def test_index_info_shows_the_reranker_status(
    own_index: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    index_dir = own_index.index_dir
    monkeypatch.setenv("ASKDOC_MODE", "auto")  # the mode that follows the reranker's state (the default is hybrid)
    status, line = _reranker_info(capsys, index_dir)
    assert status["state"] == "missing" and "not trained: run `askdoc reranker train`" in line

    trained = reranker_dir(index_dir)
    trained.mkdir()
    corpus_hash = store.read_manifest(index_dir).corpus_hash
    manifest = {"corpus_hash": corpus_hash, "created_at": "2024-05-06", "train_seconds": 42}
    (trained / RERANKER_MANIFEST).write_text(json.dumps(manifest))
    status, line = _reranker_info(capsys, index_dir)
    assert status["state"] == "current" and "trained 2024-05-06 in 42 s" in line

    (trained / RERANKER_MANIFEST).write_text(json.dumps(manifest | {"corpus_hash": "another collection"}))
    status, line = _reranker_info(capsys, index_dir)
    assert status["state"] == "stale" and "trained for another version of the collection" in line

    monkeypatch.setenv("ASKDOC_RERANKER_MODEL", "/models/my-cross-encoder")
    status, line = _reranker_info(capsys, index_dir)
    assert status == {"state": "configured", "path": "/models/my-cross-encoder"} and "set by reranker_model" in line
    monkeypatch.delenv("ASKDOC_MODE")
    assert json.loads(askdoc(capsys, index_dir, "index", "info", "--json")[1])["mode"] == "hybrid"  # the default
    # A named collection's hint trains that collection (as printed, it trained the default one: ~15 minutes).
    assert train_hint(own_index.replace(collection="papers")) == "run `askdoc reranker train --collection papers`"


def test_rebuild_keeps_added_documents(own_index: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    doc = tmp_path / "runbook.md"
    doc.write_text(RUNBOOK, encoding="utf-8")
    code, out, err = askdoc(capsys, own_index.index_dir, "index", "add", str(doc))
    assert code == 0 and f"added      {doc} (1 section, id runbook)" in out, err  # "# Runbook" has no text
    added = store.read_manifest(own_index.index_dir)
    assert added.counts["documents"] == 2 and added.counts["sections"] > 262
    code, out, err = askdoc(capsys, own_index.index_dir, "index", "build", "--rebuild")
    assert code == 0 and f"indexed {added.counts['sections']} sections" in err, err
    assert f"[{doc.resolve()}]" in out  # the rebuilt index lists it
    rebuilt = store.read_manifest(own_index.index_dir)
    assert [r.path for r in rebuilt.documents] == [r.path for r in added.documents]
    assert rebuilt.counts == added.counts
    code, out, err = askdoc(capsys, own_index.index_dir, "search", "how often do keys rotate?", "--json", "--k", "1")
    assert code == 0 and json.loads(out)["results"][0]["section_id"] == "runbook/rotating-keys", err


@pytest.mark.parametrize("collection", [[], ["--collection", "papers"]], ids=["default", "named"])
def test_the_advised_rebuild_of_a_damaged_index_keeps_its_documents(
    own_index: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path, collection: list[str]
) -> None:
    """A broken FAISS file is derived data: the rebuild the error advises, run as printed, reads the added
    documents again from the manifest (which is written last, so intact), in a named collection too."""
    doc = tmp_path / "runbook.md"
    doc.write_text(RUNBOOK, encoding="utf-8")
    assert askdoc(capsys, own_index.index_dir, "index", "add", str(doc), *collection)[0] == 0
    where = own_index.replace(collection=collection[-1]) if collection else own_index
    folder = collection_dir(where)
    before = store.read_manifest(folder)
    (folder / "faiss.index").write_bytes(b"not faiss")
    code, _, err = askdoc(capsys, own_index.index_dir, "search", "how often do keys rotate?", *collection)
    hint = one_line_error(code, err).split("rebuild with `", 1)[1].removesuffix("`")
    assert hint.split()[:4] == ["askdoc", "index", "build", "--rebuild"] and str(own_index.index_dir) in hint
    assert ("--collection papers" in hint) == bool(collection)
    capsys.readouterr()
    assert main([*shlex.split(hint)[1:], "--device", "cpu", "--no-reranker"]) == 0
    assert "rebuilding it with its 1 added document(s), read again" in capsys.readouterr().err
    after = store.read_manifest(folder)
    assert [r.path for r in after.documents] == [r.path for r in before.documents] and after.counts == before.counts
    args = ("search", "how often do keys rotate?", "--json", "--k", "1", *collection)
    code, out, err = askdoc(capsys, own_index.index_dir, *args)
    assert code == 0 and json.loads(out)["results"][0]["section_id"] == "runbook/rotating-keys", err


def test_a_named_collection_whose_manifest_is_lost_says_to_add_its_documents_again(
    own_index: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Only the manifest lists a named collection's documents: with it unreadable, no rebuild can read them again,
    so the error says what works (remove the folder, add them again) and `index collections` still lists the rest."""
    doc = tmp_path / "runbook.md"
    doc.write_text(RUNBOOK, encoding="utf-8")
    assert askdoc(capsys, own_index.index_dir, "index", "add", str(doc), "--collection", "papers")[0] == 0
    folder = collection_dir(own_index.replace(collection="papers"))
    (folder / "manifest.json").write_text("garbage")
    for command in (["search", "keys"], ["index", "build", "--rebuild"]):
        code, _, err = askdoc(capsys, own_index.index_dir, *command, "--collection", "papers")
        message = one_line_error(code, err)
        assert f"remove {folder} and add them again" in message, message
        assert f"`askdoc index add --index-dir {own_index.index_dir} --collection papers FILE" in message, message
    code, out, err = askdoc(capsys, own_index.index_dir, "index", "collections")
    assert code == 0 and out.startswith("default ") and "papers" in out and "unreadable" in out, err
    assert f"remove {folder} and add them again" in out and "index build" not in out, out
    code, out, err = askdoc(capsys, own_index.index_dir, "index", "collections", "--json")
    (papers,) = [row for row in json.loads(out)["collections"] if row["name"] == "papers"]
    assert code == 0 and f"remove {folder} and add them again" in papers["error"], papers  # and JSON says the same


def test_an_interrupted_add_says_nothing_was_added(
    own_index: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C after the files were read, before the index is saved: the "added" lines already printed must not
    stand as the last word. The index here is from an older askdoc, so `add` first rebuilds and saves it: that
    save is not the one the files await."""
    doc = tmp_path / "runbook.md"
    doc.write_text(RUNBOOK, encoding="utf-8")
    path = own_index.index_dir / "manifest.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | {"chunker": "chunk-v2:256:200:40"}))
    saves: list[object] = []
    save_faiss = store.save_faiss

    def interrupted(*args: object) -> None:  # the rebuild's save goes through, the add's is interrupted
        saves.append(args)
        if len(saves) > 1:
            raise KeyboardInterrupt
        save_faiss(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "save_faiss", interrupted)
    code, out, err = askdoc(capsys, own_index.index_dir, "index", "add", str(doc))
    assert code == 130 and f"added      {doc}" in out and "out of date" in err, (out, err)
    assert "interrupted before the index was saved: none of the files above was added" in err, err
    assert [r.name for r in store.read_manifest(own_index.index_dir).documents] == ["interview_questions.txt"]


def test_a_missing_model_is_said_once_and_a_quoted_answer_has_no_draft(
    index_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("ask", "What is label smoothing?", "--style", "generate", "--model", "/nonexistent/model.gguf")
    code, out, err = askdoc(capsys, index_dir, *args, "--show-draft")
    assert code == 0 and "[1]" in out, err
    assert err.count("does not exist") == 1, err  # said when loading, not again after the answer
    assert "--show-draft: no draft; this answer was quoted from the sources" in err, err


def test_faiss_hnsw_builds_and_answers(
    own_index: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = askdoc(capsys, own_index.index_dir, "index", "build", "--faiss", "hnsw")
    assert code == 0 and "FAISS hnsw" in out and "FAISS index is 'flat'" in err, err
    assert "is up to date" not in err  # it was just rebuilt
    code, out, err = askdoc(capsys, own_index.index_dir, "index", "build")
    assert code == 0 and "is up to date" in err and "rebuilding" not in err, err
    index = store.load(own_index.index_dir)
    assert index.manifest.faiss_kind == "hnsw" and "HNSW" in type(index.faiss).__name__
    # Kept by the commands that follow, with nothing else set (they used to rebuild it as the default kind).
    code, out, err = askdoc(capsys, own_index.index_dir, "ask", "What is label smoothing?", "--json")
    assert code == 0 and "rebuilding" not in err, err
    answer = json.loads(out)
    assert not answer["refused"] and LABEL_SMOOTHING in {c["section_id"] for c in answer["citations"]}
    assert store.read_manifest(own_index.index_dir).faiss_kind == "hnsw"
    code, out, err = askdoc(capsys, own_index.index_dir, "index", "build", "--faiss", "auto")  # until asked again
    assert code == 0 and store.read_manifest(own_index.index_dir).faiss_kind == "flat", err
    monkeypatch.setenv("ASKDOC_FAISS_KIND", "hnsw")  # the setting asks too
    code, out, err = askdoc(capsys, own_index.index_dir, "search", "What is label smoothing?", "--json")
    assert (
        code == 0 and "settings ask for 'hnsw'" in err and store.read_manifest(own_index.index_dir).faiss_kind == "hnsw"
    )


@pytest.mark.parametrize(
    ("host", "api_key", "warned"),
    [("0.0.0.0", "", True), ("0.0.0.0", "s3cret", False), ("127.0.0.1", "", False)],
)
def test_serve_warns_on_a_non_loopback_host_without_a_key(
    own_index: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    host: str,
    api_key: str,
    warned: bool,
) -> None:
    import uvicorn

    served: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: served.append({"app": app, **kwargs}))
    if api_key:
        monkeypatch.setenv("ASKDOC_API_KEY", api_key)
    code, _, err = askdoc(capsys, own_index.index_dir, "serve", "--host", host, "--port", "8765")
    assert code == 0
    assert (f"serving on {host} without an API key" in err) is warned, err
    # then it serves, warned or not, with askdoc's own log lines in every worker process
    assert served[0].pop("log_config")["loggers"]["askdoc"]["level"] == "INFO"
    assert served == [{"app": "api.app:create_app", "factory": True, "host": host, "port": 8765, "workers": 1}]


def test_serve_on_a_port_in_use_says_so_at_once(
    own_index: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before any model loads (it used to load them, ~20 s, then print uvicorn's error and exit 3)."""
    import socket

    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *_, **__: pytest.fail("served on a port in use"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = askdoc(capsys, own_index.index_dir, "serve", "--port", str(port))
    assert code == 2 and err.count("\n") == 1, err
    assert f"cannot serve on 127.0.0.1:{port}: Address already in use (another server is using it" in err, err


def test_serve_on_a_collection_that_does_not_exist_says_so_in_one_line(
    own_index: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *_, **__: pytest.fail("served a collection that does not exist"))
    code, _, err = askdoc(capsys, own_index.index_dir, "serve", "--collection", "brandnew")
    assert code == 2 and err.count("\n") == 1, err
    assert "collection 'brandnew' does not exist" in err and "askdoc index add --collection brandnew" in err


@pytest.mark.parametrize(
    "argv",
    [["ask", "What is self-attention?"], ["search", "What is self-attention?"]],
    ids=["ask", "search"],
)
def test_a_normal_command_prints_no_library_noise(retriever: Retriever, index_dir: Path, argv: list[str]) -> None:
    """The real command, as a user runs it: stderr holds askdoc's own lines only: no model-loading progress bar,
    no library warning or log line."""
    env = child_env(index_dir=str(index_dir), device="cpu")
    out = subprocess.run([ASKDOC, *argv], capture_output=True, text=True, env=env, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    assert "what-is-self-attention" in out.stdout
    assert "\r" not in out.stderr and "it/s]" not in out.stderr, out.stderr
    assert all(line.startswith("askdoc: ") for line in out.stderr.splitlines()), out.stderr


def test_the_command_line_starts_without_the_heavy_libraries() -> None:
    """Importing the CLI and parsing arguments loads no model library: each command imports what it needs when it
    runs (a quick start, and `askdoc --help` in a fraction of a second)."""
    code = (
        "import sys; from cli.main import build_parser; build_parser().parse_args(['search', 'q']); "
        "print(' '.join(m for m in ('torch', 'transformers', 'sentence_transformers', 'llama_cpp', 'fastapi', "
        "'faiss', 'bm25s', 'onnxruntime') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == ""
