"""Bounded load test of the HTTP API, on loopback only.

    python bench/load_api.py --endpoint search --clients 32 --seconds 60
    python bench/load_api.py --endpoint ask --clients 16 --seconds 30 --max-pending 2
    python bench/load_api.py --url http://127.0.0.1:8000 ...     # a server that is already running
    python bench/load_api.py --endpoint mixed --clients 32 --seconds 600 --warmup 60   # the soak (issue 15)

Starts its own server (uvicorn, one worker, index from --index-dir or ASKDOC_INDEX_DIR) on a free loopback port
unless --url names a running one; refuses any host but 127.0.0.1 / localhost / ::1. N clients (asyncio + httpx,
one connection each) send requests back to back for a fixed time, with the dev-set questions in turn; requests
still in flight then get a grace period and are counted as cut off, so the run always ends by itself (at most
seconds + grace + server start). Prints requests/s, latency p50/p95/p99 and the count of each status code
(with the Retry-After values seen on 503s); client-side timeouts and connection errors are counted as such.

`--endpoint mixed` is the soak: each client cycles /search, /ask (generated) and /v1/chat/completions. For a
server started here the server's resident memory is sampled every 5 s; the growth from the end of the warm-up
(`--warmup` seconds) to the end of the run is printed, since a leak shows as steady growth once caches are full.
Afterwards one generated /ask must succeed: a generation slot left taken by the load would make it wait forever.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from procinfo import children, free_port, status_mib

from eval.dataset import DEFAULT_QUERIES, load_questions
from eval.metrics import percentile

ROOT = Path(__file__).resolve().parent.parent

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def loopback_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname not in LOOPBACK:
        raise SystemExit(f"load_api: refusing {url!r}: only http(s) on 127.0.0.1, localhost or ::1")
    return url.rstrip("/")


class Server:
    """The API in a uvicorn subprocess; always stopped on exit."""

    def __init__(self, index_dir: str | None, max_pending: int | None, timeout_s: float | None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        env.pop("ASKDOC_API_KEY", None)
        for key, value in (
            ("ASKDOC_INDEX_DIR", index_dir),
            ("ASKDOC_MAX_PENDING_ANSWERS", max_pending),
            ("ASKDOC_REQUEST_TIMEOUT_S", timeout_s),
        ):
            if value is not None:
                env[key] = str(value)
        self.log = tempfile.NamedTemporaryFile(prefix="askdoc-load-", suffix=".log", delete=False)  # noqa: SIM115
        cmd = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1"]
        cmd += ["--port", str(self.port), "--no-access-log", "--log-level", "warning"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, limit_s: float = 300) -> None:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"load_api: the server exited with {self.proc.returncode}; log: {self.log.name}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise SystemExit(f"load_api: the server was not ready within {limit_s:.0f} s; log: {self.log.name}")

    def stop(self, keep_log: bool) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.log.close()
        if keep_log:
            print(f"server log: {self.log.name}", file=sys.stderr)
        else:
            os.unlink(self.log.name)


class Stats:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)  # outcome -> seconds
        self.retry_after: Counter[str] = Counter()
        self.cut_off = 0
        self.rss: list[tuple[float, float]] = []  # (seconds since start, server MiB)

    def add(self, outcome: str, seconds: float) -> None:
        self.latency[outcome].append(seconds)


MIXED = ("search", "ask", "v1/chat/completions")


def request(endpoint: str, question: str, body_extra: dict[str, object], i: int) -> tuple[str, dict[str, object]]:
    """(path, body) of the i-th request of a client; `mixed` cycles the three ways of asking."""
    if endpoint == "mixed":
        endpoint = MIXED[i % len(MIXED)]
    if endpoint == "v1/chat/completions":
        return endpoint, {"messages": [{"role": "user", "content": question}]}
    return endpoint, {"question": question, **body_extra}


async def client(
    base: str, endpoint: str, body_extra: dict[str, object], questions: list[str], offset: int,
    stop_at: float, stats: Stats, timeout_s: float, honor_retry_after: bool,
) -> None:  # fmt: skip
    i = offset
    async with httpx.AsyncClient(base_url=base, timeout=timeout_s) as http:
        while time.monotonic() < stop_at:
            path, body = request(endpoint, questions[i % len(questions)], body_extra, i)
            i += 1
            t = time.perf_counter()
            try:
                r = await http.post(f"/{path}", json=body)
                outcome = str(r.status_code) if endpoint != "mixed" else f"{path} {r.status_code}"
                if r.status_code == 503:
                    stats.retry_after[r.headers.get("retry-after", "(none)")] += 1
            except httpx.TimeoutException:
                outcome = "client-timeout"
            except httpx.TransportError as exc:
                outcome = f"transport-error:{type(exc).__name__}"
            stats.add(outcome, time.perf_counter() - t)
            if outcome.endswith("503") and honor_retry_after:
                await asyncio.sleep(min(float(r.headers.get("retry-after", "1")), max(0.0, stop_at - time.monotonic())))


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn --workers N forks them)."""
    return sum(status_mib(p) for p in [pid, *children(pid)])


async def sample_rss(pid: int, start: float, samples: list[tuple[float, float]], every_s: float = 5.0) -> None:
    while True:
        samples.append((time.monotonic() - start, rss_mib(pid)))
        await asyncio.sleep(every_s)


async def run(args: argparse.Namespace, base: str, pid: int | None = None) -> tuple[Stats, float]:
    questions = [q.question for q in load_questions(DEFAULT_QUERIES)]
    extra: dict[str, object] = {"k": args.k} if args.k else {}
    if args.endpoint == "ask" and args.extractive:
        extra["extractive"] = True
    stats = Stats()
    start = time.monotonic()
    stop_at = start + args.seconds
    tasks = [
        asyncio.create_task(
            client(base, args.endpoint, extra, questions, n * 7, stop_at, stats, args.timeout, args.retry_after)
        )
        for n in range(args.clients)
    ]
    sampler = asyncio.create_task(sample_rss(pid, start, stats.rss)) if pid else None
    _, pending = await asyncio.wait(tasks, timeout=args.seconds + args.grace)
    if sampler:
        sampler.cancel()
    for task in pending:  # still waiting for an answer after the grace period: cut off, not waited for
        task.cancel()
    stats.cut_off = len(pending)
    await asyncio.gather(*pending, return_exceptions=True)
    return stats, time.monotonic() - start


def report(stats: Stats, elapsed: float, args: argparse.Namespace) -> None:
    every = [s for values in stats.latency.values() for s in values]
    ok = [s for outcome, values in stats.latency.items() if outcome.split()[-1] == "200" for s in values]
    print(f"\n{args.endpoint}: {args.clients} clients, {args.seconds:g} s (wall {elapsed:.1f} s)")
    print(f"requests: {len(every)} completed, {len(every) / elapsed:.1f} req/s; 200: {len(ok) / elapsed:.1f} req/s")

    def line(name: str, values: list[float]) -> str:
        ms = [v * 1000 for v in values]
        return (
            f"  {name:28s} {len(ms):7d}   p50 {percentile(ms, 50):8.1f} ms   p95 {percentile(ms, 95):8.1f} ms"
            f"   p99 {percentile(ms, 99):8.1f} ms   max {max(ms):8.1f} ms"
        )

    print(line("all", every))
    for outcome in sorted(stats.latency):
        print(line(outcome, stats.latency[outcome]))
    if stats.retry_after:
        print(f"  503 Retry-After values: {dict(stats.retry_after)}")
    print(f"  cut off at the end (no answer within the grace period): {stats.cut_off}")
    if stats.rss:
        report_rss(stats.rss, args.warmup)


def report_rss(samples: list[tuple[float, float]], warmup_s: float) -> None:
    minutes = [f"{mib:.0f}" for t, mib in samples if int(t) % 60 < 5]  # one sample a minute: does it level off?
    print(f"server RSS each minute, MiB: {' '.join(minutes)}")
    after_warmup = [mib for t, mib in samples if t >= warmup_s] or [samples[-1][1]]
    base, end, peak = after_warmup[0], after_warmup[-1], max(mib for _, mib in samples)
    print(
        f"server RSS: {samples[0][1]:.0f} MiB at the start, {base:.0f} MiB after the {warmup_s:g} s warm-up, "
        f"{end:.0f} MiB at the end (growth after warm-up {100 * (end - base) / base:+.1f} %), peak {peak:.0f} MiB"
    )


def after(base: str) -> None:
    """The server still answers once the load stops, and the answer queue drains (no request left hanging)."""
    t = time.monotonic()
    search = httpx.post(f"{base}/search", json={"question": "What is self-attention?"}, timeout=60)
    print(f"after the run: /search {search.status_code} in {time.monotonic() - t:.2f} s")
    t = time.monotonic()
    while True:
        r = httpx.post(f"{base}/ask", json={"question": "What is self-attention?", "extractive": True}, timeout=60)
        if r.status_code != 503 or time.monotonic() - t > 120:
            break
        time.sleep(0.2)
    print(f"after the run: /ask (extractive) {r.status_code} after {time.monotonic() - t:.2f} s")
    t = time.monotonic()
    r = httpx.post(f"{base}/ask", json={"question": "What is self-attention?"}, timeout=120)
    print(f"after the run: /ask (generated, needs the generation slot) {r.status_code} in {time.monotonic() - t:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="a running server on loopback (default: start one)")
    ap.add_argument("--endpoint", choices=["search", "ask", "mixed"], default="search")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--max-pending", type=int, help="ASKDOC_MAX_PENDING_ANSWERS of the server started here")
    ap.add_argument("--server-timeout", type=float, help="ASKDOC_REQUEST_TIMEOUT_S of the server started here")
    ap.add_argument("--index-dir", help="ASKDOC_INDEX_DIR of the server started here")
    ap.add_argument("--extractive", action="store_true", help="/ask without the LLM")
    ap.add_argument("--k", type=int, help="k in each request (default: the server's)")
    ap.add_argument("--timeout", type=float, default=60.0, help="client-side timeout per request, seconds")
    ap.add_argument("--grace", type=float, default=30.0, help="seconds allowed to requests in flight at the end")
    ap.add_argument("--retry-after", action="store_true", help="clients wait as a 503's Retry-After says")
    ap.add_argument("--warmup", type=float, default=60.0, help="seconds before the RSS growth baseline")
    args = ap.parse_args()
    if not 1 <= args.clients <= 256 or not 0 < args.seconds <= 600:
        raise SystemExit("load_api: --clients must be 1..256 and --seconds 0..600")

    server = None
    if args.url:
        if args.max_pending is not None or args.index_dir or args.server_timeout is not None:
            raise SystemExit("load_api: --max-pending, --server-timeout and --index-dir apply to a server started here")
        base = loopback_url(args.url)
    else:
        server = Server(args.index_dir, args.max_pending, args.server_timeout)
        base = server.url
    failed = True
    try:
        if server:
            t = time.monotonic()
            server.wait_ready()
            print(f"server {base} ready in {time.monotonic() - t:.1f} s")
        ready = httpx.get(f"{base}/readyz", timeout=10).json()
        print(f"server: {ready}")
        stats, elapsed = asyncio.run(run(args, base, server.proc.pid if server else None))
        report(stats, elapsed, args)
        after(base)
        failed = False
    finally:
        if server:
            server.stop(keep_log=failed)


if __name__ == "__main__":
    main()
