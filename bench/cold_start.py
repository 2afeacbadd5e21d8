"""Cold start of the `askdoc` command: whole processes, from process start to the answer on stdout.

    python bench/cold_start.py [--askdoc main=/work/main/.venv/bin/askdoc] [--askdoc this=.venv/bin/askdoc] [--runs 5]

Each case (a search, an extractive answer, a refused question, a generated answer) runs as a fresh process,
`--runs` times per build. Builds are interleaved run by run (build A, build B, A, B ...) so that a machine
shared with other work slows both alike. One untimed run per build and case comes first (it builds the index
when there is none and warms the file cache; build the index with the newest build first, so that what it adds
to the index, such as stored sentence vectors, is there). Every build reads the same index (`--index-dir`) of the same
corpus file: the index records its default corpus' path, and a build installed elsewhere would otherwise
rebuild it. Prints the median, min and max seconds per case and build, the ratio to the first build, whether
the builds printed the same stdout, and the median 1-minute load average seen before the case's runs (the
machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = {
    "search": ["search", "What is self-attention?"],
    "ask (extractive)": ["ask", "What is self-attention?"],
    "ask (refused)": ["ask", "What is the capital of France?"],
    "ask --style generate": ["ask", "What is self-attention?", "--style", "generate"],
}


def parse_build(spec: str) -> tuple[str, Path]:
    name, _, path = spec.rpartition("=")
    return name or spec, Path(path).expanduser()


def child_env(index_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDOC_")}
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ASKDOC_INDEX_DIR=str(index_dir),
        ASKDOC_CORPUS_PATH=str(ROOT / "corpus" / "data" / "interview_questions.txt"),
        ASKDOC_DEVICE="cpu",
    )
    return env


def run_once(askdoc: Path, argv: list[str], env: dict[str, str]) -> tuple[float, str, str]:
    """(wall seconds, stdout, stderr) of one whole process; a failing process stops the benchmark."""
    start = time.perf_counter()
    proc = subprocess.run([str(askdoc), *argv], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{askdoc} {' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr}")
    return seconds, proc.stdout, proc.stderr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--askdoc",
        action="append",
        metavar="[NAME=]PATH",
        help="an askdoc executable to time (repeat to compare; the first is the baseline). "
        "Default: this checkout's .venv/bin/askdoc",
    )
    ap.add_argument("--runs", type=int, default=5, help="timed runs per case and build")
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated, of: " + ", ".join(CASES))
    ap.add_argument("--index-dir", type=Path, default=ROOT / ".askdoc" / "cold-start-index")
    args = ap.parse_args()
    builds = [parse_build(s) for s in args.askdoc or [f"this={ROOT / '.venv' / 'bin' / 'askdoc'}"]]
    cases = [c.strip() for c in args.cases.split(",")]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        ap.error(f"unknown case(s) {unknown}; choose from {list(CASES)}")
    env = child_env(args.index_dir)
    outputs: dict[tuple[str, str], str] = {}
    for case in cases:  # untimed: builds the index if needed, warms the page cache
        for name, path in builds:
            _, outputs[case, name], _ = run_once(path, CASES[case], env)
    times: dict[tuple[str, str], list[float]] = {(c, n): [] for c in cases for n, _ in builds}
    load: dict[str, list[float]] = {c: [] for c in cases}
    for _ in range(args.runs):
        for case in cases:
            load[case].append(os.getloadavg()[0])
            for name, path in builds:
                times[case, name].append(run_once(path, CASES[case], env)[0])
    report(cases, [n for n, _ in builds], times, outputs, args.runs, load)


def report(
    cases: list[str],
    names: list[str],
    times: dict[tuple[str, str], list[float]],
    outputs: dict[tuple[str, str], str],
    runs: int,
    load: dict[str, list[float]],
) -> None:
    print(f"whole-process seconds, median of {runs} runs (min-max), builds interleaved; baseline {names[0]}")
    for case in cases:
        base = statistics.median(times[case, names[0]])
        cells = []
        for name in names:
            t = times[case, name]
            med = statistics.median(t)
            ratio = "" if name == names[0] else f" = {med / base:.2f}x"
            cells.append(f"{name} {med:5.2f} s ({min(t):.2f}-{max(t):.2f}){ratio}")
        same = len({outputs[case, n] for n in names}) == 1
        same_out = "" if len(names) == 1 else f"   same stdout: {same}"
        print(f"{case:22s} " + "   ".join(cells) + same_out + f"   load {statistics.median(load[case]):.1f}")


if __name__ == "__main__":
    main()
