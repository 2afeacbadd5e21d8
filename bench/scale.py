"""Scale benchmark: FAISS exact vs HNSW vs IVF on N synthetic 384-d vectors, and bm25s on N generated passages.

    python bench/scale.py [--n 1000000] [--queries 1000] [--only vectors|bm25] [--out bench/results/scale.md]

Embedding 1M real passages takes hours on a 2-core CPU, so the vectors are SYNTHETIC: drawn from a Gaussian
mixture fitted to the real passage embeddings of the index at ASKDOC_INDEX_DIR (build it first), L2-normalised;
the queries are drawn from the same mixture. The BM25 passages are generated from the collection's own token
frequencies (bench/scale_bm25.py). Every figure is measured in this run; recall@10 is against exact search
(IndexFlatIP) on the same vectors. Latency is one query at a time, as the product searches. The load average is
printed beside the figures: on a shared machine p50/p95 are inflated by the other processes.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np

from eval.metrics import percentile
from index.store import load
from rag.config import Settings

DIM = 384


def load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def synthetic(real: np.ndarray, n: int, n_queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n vectors, n_queries queries) drawn from a full-covariance Gaussian mixture fitted to `real`."""
    from sklearn.mixture import GaussianMixture

    components = max(2, min(16, len(real) // 100))
    gmm = GaussianMixture(components, covariance_type="full", reg_covar=1e-4, random_state=seed, max_iter=50)
    gmm.fit(real.astype(np.float64))
    rng = np.random.default_rng(seed)
    chol = [np.linalg.cholesky(c).astype(np.float32) for c in gmm.covariances_]

    def draw(count: int) -> np.ndarray:
        out = np.empty((count, real.shape[1]), dtype=np.float32)
        picks = rng.choice(components, size=count, p=gmm.weights_)
        for c in range(components):
            rows = np.flatnonzero(picks == c)
            for start in range(0, len(rows), 100_000):  # in chunks: bounded temporary memory
                part = rows[start : start + 100_000]
                noise = rng.standard_normal((len(part), real.shape[1]), dtype=np.float32)
                out[part] = gmm.means_[c].astype(np.float32) + noise @ chol[c].T
        faiss.normalize_L2(out)
        return out

    return draw(n), draw(n_queries)


def nlist_for(n: int) -> int:
    return max(1, min(int(4 * np.sqrt(n)), n // 39))


def candidates(n: int) -> list[tuple[str, Callable[[], faiss.Index], str, list[int]]]:
    """(name, constructor, the search parameter swept, its values)."""
    ip = faiss.METRIC_INNER_PRODUCT
    nl = nlist_for(n)
    ivf_probes = [8, 16, 32, 64, 128, 256]

    def hnsw(spec: str) -> Callable[[], faiss.Index]:
        def make() -> faiss.Index:
            index = faiss.index_factory(DIM, spec, ip)
            faiss.downcast_index(index).hnsw.efConstruction = 80
            return index

        return make

    # The chosen default for large collections first, so that a run cut short still has it.
    return [
        (f"IVF{nl},SQ8", lambda: faiss.index_factory(DIM, f"IVF{nl},SQ8", ip), "nprobe", ivf_probes),
        (f"IVF{nl},Flat", lambda: faiss.index_factory(DIM, f"IVF{nl},Flat", ip), "nprobe", ivf_probes),
        (f"IVF{nl},PQ48,RFlat k*4", lambda: faiss.index_factory(DIM, f"IVF{nl},PQ48,RFlat", ip), "nprobe", [16, 32]),
        (f"IVF{nl},PQ48", lambda: faiss.index_factory(DIM, f"IVF{nl},PQ48", ip), "nprobe", ivf_probes),
        ("HNSW16,Flat efC=80", hnsw("HNSW16"), "efSearch", [16, 32, 64, 128]),
        ("HNSW32,Flat efC=80", hnsw("HNSW32"), "efSearch", [16, 32, 64, 128]),
        ("HNSW16,SQ8 efC=80", hnsw("HNSW16_SQ8"), "efSearch", [16, 32, 64, 128]),
    ]


def build(make: Callable[[], faiss.Index], xb: np.ndarray, directory: Path, name: str) -> tuple[faiss.Index, dict]:
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    t = time.perf_counter()
    index = make()
    if not index.is_trained:
        # A sample is enough to place the centroids (and PQ codebooks); training on all of 1M would take long.
        sample = xb[np.random.default_rng(1).choice(len(xb), size=min(len(xb), 50_000), replace=False)]
        index.train(sample)
    index.add(xb)
    seconds = time.perf_counter() - t
    path = directory / (name.split()[0].replace(",", "_") + ".index")
    faiss.write_index(index, str(path))
    faiss.omp_set_num_threads(1)
    return index, {"build_s": seconds, "size_mb": path.stat().st_size / 2**20}


def set_param(index: faiss.Index, param: str, value: int) -> None:
    if not param:
        return
    if isinstance(index, faiss.IndexRefine):
        index.k_factor = 4
        index = faiss.downcast_index(index.base_index)
    ps = faiss.ParameterSpace()
    ps.set_index_parameter(index, param, value)


def latencies(index: faiss.Index, xq: np.ndarray, k: int = 10) -> tuple[list[float], np.ndarray]:
    ids = np.empty((len(xq), k), dtype=np.int64)
    times = []
    for i, q in enumerate(xq):
        t = time.perf_counter()
        _, ids[i : i + 1] = index.search(q.reshape(1, -1), k)
        times.append((time.perf_counter() - t) * 1000)
    return times, ids


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)]))


def exact_by_size(xb: np.ndarray, xq: np.ndarray, out: list[str]) -> None:
    """Exact search latency as the collection grows (prefixes of xb): where exact stops being fast enough."""
    out += [
        "Exact search (IndexFlatIP) latency by collection size, one thread:",
        "",
        "| vectors | p50 ms | p95 ms | load avg |",
        "|---|---|---|---|",
    ]
    for size in (10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000):
        if size >= len(xb):  # the full size is the exact row of the main table
            break
        index = faiss.IndexFlatIP(DIM)
        index.add(xb[:size])
        times, _ = latencies(index, xq[:200])
        row = f"| {size:,} | {percentile(times, 50):.2f} | {percentile(times, 95):.2f} | {load_avg()} |"
        print(row, flush=True)
        out.append(row)
    out.append("")


def run_vectors(
    n: int, n_queries: int, out: list[str], skip: set[str], only: set[str], save: Callable[[list[str]], None]
) -> None:
    import tempfile

    real = load(Settings.from_env().index_dir).vectors
    t = time.perf_counter()
    xb, xq = synthetic(np.asarray(real), n, n_queries)
    print(
        f"drew {n} synthetic vectors from a mixture fitted to {len(real)} real passage embeddings "
        f"in {time.perf_counter() - t:.1f} s",
        flush=True,
    )
    out += [
        f"## FAISS at {n:,} vectors x {DIM} (SYNTHETIC: Gaussian mixture fitted to {len(real)} real passage "
        f"embeddings, L2-normalised; {n_queries} queries from the same mixture)",
        "",
        f"faiss {faiss.__version__}; builds use every core, searches one query per call. "
        "RAM = the index's size (its file; what a process holds for it: codes + graph or lists). One OpenMP "
        "thread (a worker answers one query at a time; more threads thrash on a loaded 2-core machine).",
        "",
    ]
    exact_by_size(xb, xq, out)
    out += [
        "| index | build s | index MB | param | p50 ms | p95 ms | recall@10 | load avg (1/5/15 min) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    exact = faiss.IndexFlatIP(DIM)
    exact.add(xb)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    _, truth = exact.search(xq, 10)  # the ground truth, batched (one matrix product)
    faiss.omp_set_num_threads(1)
    times, _ = latencies(exact, xq[:200])
    row = (
        f"| exact IndexFlatIP | - | {xb.nbytes / 2**20:.0f} | - | {percentile(times, 50):.2f} | "
        f"{percentile(times, 95):.2f} | 1.000 | {load_avg()} |"
    )
    print(row, flush=True)
    out.append(row)
    del exact
    with tempfile.TemporaryDirectory() as tmp:
        for name, make, param, values in candidates(n):
            if any(s.lower() in name.lower() for s in skip) or (only and not any(o in name for o in only)):
                continue
            index, info = build(make, xb, Path(tmp), name)
            for value in values:
                set_param(index, param, value)
                times, found = latencies(index, xq)
                row = (
                    f"| {name} | {info['build_s']:.1f} | {info['size_mb']:.0f} | "
                    f"{param + '=' + str(value) if param else '-'} | {percentile(times, 50):.2f} | "
                    f"{percentile(times, 95):.2f} | {recall(found, truth):.3f} | {load_avg()} |"
                )
                print(row, flush=True)
                out.append(row)
                save(out)
            del index
    out.append("")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000, help="vectors and generated passages (develop at 100000)")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--only", choices=("vectors", "bm25"), help="run one half")
    ap.add_argument("--skip", default="", help="comma-separated index names to leave out, e.g. 'PQ48,SQ8'")
    ap.add_argument(
        "--indexes", default="", help="comma-separated: run only the indexes whose name has one, e.g. 'PQ48,HNSW'"
    )
    ap.add_argument("--out", type=Path, help="also write the tables (Markdown) here")
    args = ap.parse_args()
    faiss.omp_set_num_threads(1)
    out = [
        f"# Scale benchmark, n={args.n:,} (`python bench/scale.py {' '.join(sys.argv[1:])}`)",
        "",
        f"Machine: {os.cpu_count()} CPU cores; load average at start {load_avg()} (a shared machine: "
        "latencies under load are inflated).",
        "",
    ]
    print(out[-2], flush=True)

    def save(lines: list[str]) -> None:  # after every row: a run cut short keeps what it measured
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text("\n".join(lines) + "\n")

    if args.only != "bm25":
        run_vectors(
            args.n,
            args.queries,
            out,
            {s for s in args.skip.split(",") if s},
            {s for s in args.indexes.split(",") if s},
            save,
        )
    if args.only != "vectors":
        from scale_bm25 import run_bm25  # bench/ is on sys.path when this file runs as a script

        run_bm25(args.n, out)
    save(out)
    if args.out:
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
