"""Ingesting a folder of generated documents into a live server: passages/s, the server's peak RSS, and /search
latency before vs during the ingestion (same server, same questions, same run).

    python bench/ingest.py [--docs 200] [--kb 100 | --megabytes 20] [--base-index DIR] [--max-minutes 45] [--out F]
                               [--per-request N] [--search-every S] [--device cpu]

Documents (Markdown, plain text and HTML in turn) are made of the default corpus's sentences, shuffled per
document with a document-specific fact line, so no two are duplicates; --kb sets each one's size (200 x 100 KB
= 20 MB). The server (`askdoc serve`, CPU) starts on a copy of --base-index (default: ASKDOC_INDEX_DIR, built when
missing) in a temp dir; the upload is one POST /documents per --per-request files; /search is called once per
--search-every seconds until the jobs are done, or until --max-minutes have passed (the run then stops by itself
and says it is partial). --out writes the printed figures to a Markdown file as well.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from procinfo import status_mib

from api.routes.documents import MAX_FILES
from eval.dataset import DEFAULT_QUERIES, load_questions
from eval.metrics import percentile
from rag.config import REPO_CORPUS, Settings

ROOT = Path(__file__).resolve().parent.parent


def make_documents(folder: Path, docs: int, kb: int, seed: int = 7) -> int:
    """`docs` files of about `kb` KB each; returns the total bytes."""
    sentences = [s for s in REPO_CORPUS.read_text(encoding="utf-8").split("\n") if len(s) > 40]
    rng = random.Random(seed)
    total = 0
    for n in range(docs):
        lines = [f"Document {n} records that widget {n} weighs {n * 13 % 997} grams."]
        while sum(len(x) + 1 for x in lines) < kb * 1024:
            lines.append(rng.choice(sentences))
        kind = ("md", "txt", "html")[n % 3]
        if kind == "md":
            body = "\n".join(f"## Part {i // 25}\n{x}" if i % 25 == 0 else x for i, x in enumerate(lines))
            text = f"# Notes {n}\n{body}\n"
        elif kind == "html":
            paras = "".join(f"<h2>Part {i // 25}</h2>" * (i % 25 == 0) + f"<p>{x}</p>" for i, x in enumerate(lines))
            text = f"<!doctype html><html><head><title>Page {n}</title></head><body><main>{paras}</main></body></html>"
        else:
            text = "\n".join(lines) + "\n"
        path = folder / f"doc{n:03d}.{kind}"
        path.write_text(text, encoding="utf-8")
        total += path.stat().st_size
    return total


def search_times(
    client: httpx.Client, questions: list[str], stop: Callable[[], bool] | None = None, every_s: float = 0.0
) -> list[float]:
    """Search latencies in ms: each question once, or in turn until `stop()`, one search per `every_s` seconds
    at most (0: back to back)."""
    out = []
    i = 0
    while (stop is None and i < len(questions)) or (stop is not None and not stop()):
        t = time.perf_counter()
        r = client.post("/search", json={"question": questions[i % len(questions)]})
        r.raise_for_status()
        out.append((time.perf_counter() - t) * 1000)
        i += 1
        time.sleep(max(0.0, every_s - (time.perf_counter() - t)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=200)
    ap.add_argument("--kb", type=int, default=100, help="size of each document in KB")
    ap.add_argument("--megabytes", type=float, help="total size instead of --kb: each document is this / --docs")
    ap.add_argument("--max-minutes", type=float, default=45.0, help="stop the ingestion after this long")
    ap.add_argument("--out", type=Path, help="also write the figures to this Markdown file")
    ap.add_argument("--device", default="cpu", help="the server's ASKDOC_DEVICE (cpu, cuda ...)")
    ap.add_argument("--per-request", type=int, default=MAX_FILES, help="files per POST /documents (one job each)")
    ap.add_argument("--base-index", type=Path, default=Settings.from_env().index_dir)
    ap.add_argument("--queries", type=int, default=60, help="searches before the ingestion")
    ap.add_argument(
        "--search-every",
        type=float,
        default=0.2,
        help="seconds between searches during the ingestion (0: back to back, which takes a core from it)",
    )
    args = ap.parse_args()
    if args.megabytes:
        args.kb = max(1, math.ceil(args.megabytes * 1e6 / args.docs / 1024))
    questions = [q.question for q in load_questions(DEFAULT_QUERIES)][: args.queries]
    with tempfile.TemporaryDirectory() as tmp:
        folder, index_dir = Path(tmp) / "docs", Path(tmp) / "idx"
        folder.mkdir()
        size = make_documents(folder, args.docs, args.kb)
        report = [f"generated {args.docs} documents of ~{args.kb} KB, {size / 1e6:.1f} MB"]
        print(report[0], flush=True)
        if (args.base_index / "manifest.json").exists():
            shutil.copytree(args.base_index, index_dir)
            onnx = args.base_index.parent / f"{args.base_index.name}.onnx"
            if onnx.is_dir():  # the embedder's export, beside the index: the server starts as an installed one does
                shutil.copytree(onnx, index_dir.parent / f"{index_dir.name}.onnx")
        port = 8765 + os.getpid() % 1000
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDOC_")} | {
            "ASKDOC_INDEX_DIR": str(index_dir),
            "ASKDOC_DEVICE": args.device,
            "HF_HUB_OFFLINE": "1",
            "ASKDOC_MAX_UPLOAD_BYTES": str(size + 2**20),
        }
        argv = [sys.executable, "-m", "cli.main", "serve", "--port", str(port)]
        with open(Path(tmp) / "server.log", "wb") as log:
            server = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            limit_s = args.max_minutes * 60
            report += run(server, port, folder, questions, index_dir, limit_s, args.per_request, args.search_every)
        finally:
            server.terminate()
            server.wait(timeout=60)
        if args.out:
            command = "python bench/ingest.py " + " ".join(sys.argv[1:])
            lines = "\n".join(f"    {line}" for line in report)
            args.out.write_text(f"# Ingestion benchmark\n\n`{command}`\n\n{lines}\n", encoding="utf-8")


def run(
    server: subprocess.Popen[bytes],
    port: int,
    folder: Path,
    questions: list[str],
    index_dir: Path,
    limit_s: float,
    per_request: int = MAX_FILES,
    search_every: float = 0.0,
) -> list[str]:
    """The figures, as printed."""
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600)
    deadline = time.monotonic() + 600
    while True:
        try:
            if client.get("/readyz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert server.poll() is None and time.monotonic() < deadline, "server did not start"
        time.sleep(0.5)
    before_passages = _passages(index_dir)
    # Warm-up: one pass over the very questions measured, as the "during" loop repeats them; a question's first
    # search also reads its sections' sentences from disk, which a repeat does not.
    search_times(client, questions)
    rss_before = status_mib(server.pid, "VmHWM")
    before = search_times(client, questions)
    paths = sorted(folder.iterdir())
    t = time.perf_counter()
    jobs = []
    for start in range(0, len(paths), per_request):  # at most MAX_FILES files a request: one job each
        files = [("files", (p.name, p.read_bytes())) for p in paths[start : start + per_request]]
        r = client.post("/documents", files=files)
        assert r.status_code == 202, r.text
        jobs.append(r.json())

    def done() -> bool:
        jobs[:] = [client.get(f"/documents/jobs/{j['id']}").json() for j in jobs]
        return all(j["state"] in ("done", "failed") for j in jobs) or time.perf_counter() - t > limit_s

    during = search_times(client, questions, stop=done, every_s=search_every)
    seconds = time.perf_counter() - t
    summary = {k: sum(j["summary"][k] for j in jobs) for k in jobs[0]["summary"]}
    states = sorted({j["state"] for j in jobs})
    finished = sum(j["state"] in ("done", "failed") for j in jobs)
    added = _passages(index_dir) - before_passages
    partial = "" if set(states) <= {"done", "failed"} else f" PARTIAL: stopped after {limit_s / 60:.0f} min"
    out = [
        f"{finished}/{len(jobs)} job(s) finished {states}: {summary} in {seconds:.1f} s (upload included); "
        f"{added} new passages, {added / seconds:.1f} passages/s{partial}",
        f"server peak RSS: {rss_before:.0f} MiB before the upload, {status_mib(server.pid, 'VmHWM'):.0f} MiB after",
    ]
    for name, times in (("before", before), ("during", during)):
        out.append(
            f"/search {name:<6} ingestion: n={len(times):4d}  p50 {percentile(times, 50):7.1f} ms  "
            f"p95 {percentile(times, 95):7.1f} ms  max {max(times):7.1f} ms"
        )
    if search_every:
        out.append(f"searches during the ingestion: one per {search_every:g} s at most")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    out.append(f"machine: {os.cpu_count()} cores, load average {load} at the end (shared: figures vary)")
    print("\n".join(out), flush=True)
    return out


def _passages(index_dir: Path) -> int:
    import json

    return int(json.loads((index_dir / "manifest.json").read_text())["counts"]["passages"])


if __name__ == "__main__":
    main()
