"""Fuzz the HTTP API from its own OpenAPI schema with schemathesis, against a real server on loopback.

    pip install schemathesis==4.32.5
    python bench/fuzz_api.py [--max-examples 60] [--seed 1] [--checks not_a_server_error]
    python bench/fuzz_api.py --url http://127.0.0.1:8000      # a server that is already running

Goal: no 5xx, whatever the input. Starts its own server (one uvicorn worker, index from --index-dir or
ASKDOC_INDEX_DIR; see bench/load_api.py) unless --url names a running one on loopback, then runs `schemathesis
run` on /openapi.json with a bounded number of cases per operation, one request at a time (a 503 for a full
answer queue would otherwise count as a server error), and exits with its status. The default check is
`not_a_server_error`; `--checks all` adds schema conformance (informational: the schema does not list the API's
4xx bodies). Random text rarely names a section or asks something the document answers, so a schemathesis.toml
written for the run feeds part of the cases from dictionaries: real section ids (from /search) for
GET /sections/{id}, dev-set questions for the question fields (some of them reach the LLM), and chat roles
(a random role is almost never "user", so chat requests would hardly get past "no user message"). Hypothesis's
example database and the reports go to a temporary directory, not the repository.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

# Run as `python bench/fuzz_api.py`: bench/ is on sys.path, so its sibling imports as a module.
from load_api import Server, loopback_url

from eval.dataset import DEFAULT_QUERIES, load_questions

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


def config(base: str, n_questions: int, probability: float) -> str:
    """schemathesis.toml: dictionaries of real section ids and questions, bound to the fields that take them."""
    questions = [q.question for q in load_questions(DEFAULT_QUERIES)][::7][:n_questions]
    ids: list[str] = []
    for q in questions[:5]:
        r = httpx.post(f"{base}/search", json={"question": q, "k": 20}, timeout=60)
        r.raise_for_status()
        ids += [h["section_id"] for h in r.json()["results"] if h["section_id"] not in ids]

    def values(items: list[str]) -> str:
        return "[" + ", ".join(json.dumps(i) for i in items) + "]"

    return "\n".join(
        [
            "[dictionaries.section_ids]",
            f"values = {values(ids)}",
            "[dictionaries.questions]",
            f"values = {values(questions)}",
            "[dictionaries.roles]",
            'values = ["user", "system", "assistant"]',
            "[parameters]",
            f'"path.section_id" = {{ dictionary = "section_ids", probability = {probability} }}',
            f'"body.question" = {{ dictionary = "questions", probability = {probability} }}',
            f'"body.messages[*].content" = {{ dictionary = "questions", probability = {probability} }}',
            '"body.messages[*].role" = { dictionary = "roles", probability = 0.8 }',  # else rarely a user message
            "",
        ]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="a running server on loopback (default: start one)")
    ap.add_argument("--index-dir", help="ASKDOC_INDEX_DIR of the server started here")
    ap.add_argument("--max-examples", type=int, default=60, help="generated cases per operation and phase")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--checks", default="not_a_server_error")
    ap.add_argument("--phases", default="examples,coverage,fuzzing")
    ap.add_argument("--limit-s", type=float, default=900, help="the whole schemathesis run is stopped after this")
    ap.add_argument("--request-timeout", type=float, default=120, help="per request, seconds")
    ap.add_argument("--report-dir", help="keep schemathesis' JUnit + NDJSON reports here")
    ap.add_argument("--questions", type=int, default=12, help="dev-set questions in the dictionary")
    ap.add_argument("--probability", type=float, default=0.25, help="share of cases drawn from the dictionaries")
    args = ap.parse_args()
    if not SCHEMATHESIS.exists():
        raise SystemExit("fuzz_api: schemathesis is not installed here: pip install schemathesis==4.32.5")

    server = None
    if args.url:
        base = loopback_url(args.url)
    else:
        # Answers through the LLM take seconds; 90 s before a 504 leaves room on a busy machine.
        server = Server(args.index_dir, max_pending=4, timeout_s=90)
        base = server.url
    failed = True
    try:
        if server:
            server.wait_ready()
        print(f"server {base}: {httpx.get(f'{base}/readyz', timeout=10).json()}", flush=True)
        with tempfile.TemporaryDirectory(prefix="askdoc-fuzz-") as tmp:
            toml = config(base, args.questions, args.probability)
            (Path(tmp) / "schemathesis.toml").write_text(toml, encoding="utf-8")
            cmd = [
                str(SCHEMATHESIS), "run", f"{base}/openapi.json",
                "--checks", args.checks,
                "--phases", args.phases,
                "--max-examples", str(args.max_examples),
                "--seed", str(args.seed),
                "--workers", "1",
                "--request-timeout", str(args.request_timeout),
                "--suppress-health-check", "too_slow,filter_too_much",
                "--continue-on-failure",
                "--no-color",
            ]  # fmt: skip
            if args.report_dir:
                report_dir = Path(args.report_dir).resolve()
                cmd += ["--report", "junit,ndjson", "--report-dir", str(report_dir)]
            t = time.monotonic()
            try:
                code = subprocess.run(cmd, cwd=tmp, timeout=args.limit_s, check=False).returncode
            except subprocess.TimeoutExpired:
                print(f"fuzz_api: stopped after {args.limit_s:.0f} s", file=sys.stderr)
                code = 124
            print(f"schemathesis exit code {code} after {time.monotonic() - t:.0f} s")
        after = httpx.get(f"{base}/readyz", timeout=10)
        print(f"after fuzzing: /readyz {after.status_code}")
        failed = code != 0 or after.status_code != 200
    finally:
        if server:
            server.stop(keep_log=failed)
    raise SystemExit(0 if not failed else 1)


if __name__ == "__main__":
    main()
