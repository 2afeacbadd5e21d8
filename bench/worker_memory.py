"""Memory per worker: what N processes serving one on-disk index hold each, and what they share.

    python bench/worker_memory.py [--workers 1,2] [--n 1000000] [--only serve|index] [--out FILE]

1. `askdoc serve --workers N` over the index at ASKDOC_INDEX_DIR (the default corpus unless set), N = 1 and 2,
   after 20 searches and 5 extractive answers: RSS, PSS and USS (private) of each worker from
   /proc/PID/smaps_rollup. PSS splits each shared page between the processes mapping it, so shared memory
   shows as PSS < RSS; USS is what a worker holds alone (what one more worker costs).
2. The vector index at scale: two processes load the same n-vector IVF-SQ8 index and its vectors.npy (SYNTHETIC
   vectors, bench/scale.py) as askdoc loads them (memory-mapped) and, as a baseline, read into memory.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from procinfo import children, free_port, smaps_mib
from scale import load_avg, synthetic

from eval.dataset import DEFAULT_QUERIES, load_questions
from index.store import load
from index.vectors import build_faiss, save_faiss
from rag.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def serve_row(workers: int, log: Path) -> list[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k != "ASKDOC_API_KEY"} | {"HF_HUB_OFFLINE": "1"}
    argv = [sys.executable, "-m", "cli.main", "serve", "--workers", str(workers), "--port", str(port)]
    with log.open("wb") as fh:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 600
        # Each worker says so once its models and index are loaded (the lifespan warms the engine up).
        while log.read_text(errors="replace").count("Application startup complete") < workers:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"worker_memory: the server did not start; log: {log}")
            time.sleep(1)
        questions = [q.question for q in load_questions(DEFAULT_QUERIES)][:20]
        with httpx.Client(timeout=120) as client:
            for q in questions:
                client.post(f"{base}/search", json={"question": q}).raise_for_status()
            for q in questions[:5]:
                client.post(f"{base}/ask", json={"question": q, "extractive": True}).raise_for_status()
        rows = []
        pids = children(proc.pid, workers_only=True) or [proc.pid]  # one worker: uvicorn serves in the process itself
        for i, pid in enumerate(pids, start=1):
            m = smaps_mib(pid)
            rows.append(f"| {workers} | worker {i} | {m['rss']:.0f} | {m['pss']:.0f} | {m['uss']:.0f} | {load_avg()} |")
        total = sum(smaps_mib(pid)["pss"] for pid in pids)
        rows.append(f"| {workers} | all workers (sum of PSS) |  | {total:.0f} |  |  |")
        return rows
    finally:
        proc.terminate()
        proc.wait(timeout=60)


CHILD = """
import sys, numpy as np, faiss
from index.vectors import load_faiss
d = sys.argv[1]
mapped = sys.argv[2] == "mmap"
index = load_faiss(d + "/faiss.index") if mapped else faiss.read_index(d + "/faiss.index")
vectors = np.load(d + "/vectors.npy", mmap_mode="r" if mapped else None)
q = np.load(d + "/queries.npy")
for row in q:
    index.search(row.reshape(1, -1), 10)
float(np.asarray(vectors[::997]).sum())  # what `index add` reads: a part of the rows
print("ready", flush=True)
sys.stdin.read()
"""


def index_rows(n: int) -> list[str]:
    real = np.asarray(load(Settings.from_env().index_dir).vectors)
    xb, xq = synthetic(real, n, 200)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        save_faiss(build_faiss(xb, "ivf"), Path(tmp) / "faiss.index")
        print(f"built IVF-SQ8 over {n} vectors in {time.perf_counter() - t:.0f} s", flush=True)
        np.save(Path(tmp) / "vectors.npy", xb)
        np.save(Path(tmp) / "queries.npy", xq)
        del xb
        size = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 2**20
        for how in ("mmap", "read"):
            procs = [
                subprocess.Popen(
                    [sys.executable, "-c", CHILD, tmp, how],
                    cwd=ROOT,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for _ in range(2)
            ]
            for p in procs:
                assert p.stdout is not None and p.stdout.readline().strip() == "ready"
            for i, p in enumerate(procs, start=1):
                m = smaps_mib(p.pid)
                rows.append(
                    f"| {how} | process {i} | {m['rss']:.0f} | {m['pss']:.0f} | {m['uss']:.0f} | {load_avg()} |"
                )
            for p in procs:
                p.communicate("")
        rows.insert(0, f"files on disk: {size:.0f} MiB (faiss.index + vectors.npy + queries)")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--n", type=int, default=1_000_000, help="vectors for part 2")
    ap.add_argument("--only", choices=("serve", "index"))
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    out = [f"# Memory per worker (`python bench/worker_memory.py {' '.join(sys.argv[1:])}`)", ""]
    if args.only != "index":
        out += [
            f"## `askdoc serve --workers N`, index {Settings.from_env().index_dir} (default corpus), models on CPU,"
            " generation in-process (llama.cpp, the GGUF memory-mapped)",
            "",
            "| workers | process | RSS MiB | PSS MiB | USS MiB | load avg |",
            "|---|---|---|---|---|---|",
        ]
        for workers in (int(w) for w in args.workers.split(",")):
            with tempfile.TemporaryDirectory() as tmp:
                rows = serve_row(workers, Path(tmp) / "serve.log")
            print("\n".join(rows), flush=True)
            out += rows
        out.append("")
    if args.only != "serve":
        rows = index_rows(args.n)
        out += [
            f"## Two processes loading one {args.n:,}-vector IVF-SQ8 index + vectors.npy (SYNTHETIC vectors)",
            "",
            rows[0],
            "",
            "| load | process | RSS MiB | PSS MiB | USS MiB | load avg |",
            "|---|---|---|---|---|---|",
            *rows[1:],
            "",
        ]
        print("\n".join(rows), flush=True)
    if args.out:
        args.out.write_text("\n".join(out) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
