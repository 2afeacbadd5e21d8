"""Serving at scale: `askdoc serve --workers 2` over one on-disk index, generating through one llama.cpp server
(the openai backend), and following the index when another process changes it. Real processes on loopback
ports; every wait is bounded."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from servers import child_env, free_port, llama_server, running

from api.deps import READY
from index.embedders import onnx_dir
from rag.config import Settings
from rag.generation.models import resolve_llm_model
from rag.retrieve import Retriever

QUESTIONS = ["Why is Flash attention needed?", "What is the vanishing gradient problem?"]


def _workers(pid: int) -> list[int]:
    """The worker processes of a uvicorn parent (its other child is multiprocessing's resource tracker)."""
    kids = [int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()]
    return [k for k in kids if b"spawn_main" in Path(f"/proc/{k}/cmdline").read_bytes()]


def test_two_workers_share_the_index_generate_through_one_llm_server_and_follow_an_index_add(
    settings: Settings, retriever: Retriever, own_index: Settings, tmp_path: Path
) -> None:
    assert retriever.index.sections  # the session index is on disk before the workers open it
    if onnx_dir(settings.index_dir).is_dir():  # the embedder's export sits beside the index it was made for
        shutil.copytree(onnx_dir(settings.index_dir), onnx_dir(own_index.index_dir))
    with llama_server(resolve_llm_model("smollm2"), tmp_path / "llama.log") as llm_url:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = child_env(
            index_dir=str(own_index.index_dir),
            device="cpu",
            llm_backend="openai",
            openai_base_url=llm_url,
            openai_model="smollm2",
            answer_style="generate",
            max_new_tokens="48",  # short drafts: the one LLM server writes both answers in turn
            request_timeout_s="300",
        ) | {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        argv = [sys.executable, "-m", "cli.main", "serve", "--workers", "2", "--host", "127.0.0.1", "--port", str(port)]
        log = tmp_path / "serve.log"

        def both_ready() -> bool:  # each worker logs this once it has loaded the models and the index
            return log.read_text(errors="replace").count(READY) == 2

        with running(argv, log, both_ready, 300, env) as proc, httpx.Client(base_url=base, timeout=330) as http:
            workers = _workers(proc.pid)
            assert len(workers) == 2
            ready = http.get("/readyz").json()
            assert ready["status"] == "ready" and ready["llm"] == f"openai:smollm2@{llm_url}"
            for pid in workers:  # one on-disk index, mapped by both (shared pages, not two copies)
                maps = Path(f"/proc/{pid}/maps").read_text()
                assert str(own_index.index_dir / "vectors.npy") in maps, pid
                assert str(own_index.index_dir / "bm25") in maps, pid

            def ask(question: str) -> dict:
                r = http.post("/ask", json={"question": question})
                assert r.status_code == 200, r.text
                return r.json()

            t = time.monotonic()
            with ThreadPoolExecutor(len(QUESTIONS)) as pool:
                answers = list(pool.map(ask, QUESTIONS))
            assert time.monotonic() - t < 600
            for answer in answers:
                # Written by the LLM server (the workers load no model of their own), then verified and cited.
                assert answer["draft"].strip() and not answer["refused"], answer
                assert answer["citations"] and answer["answer"].strip(), answer

            # A document added by another process while both workers serve: each sees it at its next request.
            doc = tmp_path / "gearbox.md"
            doc.write_text("# Gearbox maintenance\n\nThe quokka gearbox needs fresh oil every 4,000 kilometres.\n")
            added = subprocess.run(
                [sys.executable, "-m", "cli.main", "index", "add", str(doc)], env=env, capture_output=True, text=True
            )
            assert added.returncode == 0, added.stderr
            for _ in range(8):  # both workers answer some of these (the kernel spreads the connections)
                with httpx.Client(base_url=base, timeout=60) as fresh:  # a new connection each time
                    hits = fresh.post("/search", json={"question": "How often does the quokka gearbox need oil?"})
                assert hits.status_code == 200, hits.text
                assert hits.json()["results"][0]["heading"] == "Gearbox maintenance", hits.json()["results"][0]

            # An upload through the HTTP API: its job reads the same from either worker, while it runs and after.
            upload = tmp_path / "clutch.md"
            upload.write_text("# Clutch care\n\nThe wombat clutch is adjusted every 9,000 kilometres.\n")
            with httpx.Client(base_url=base, timeout=60) as fresh:
                r = fresh.post("/documents", files=[("files", (upload.name, upload.read_bytes()))])
            assert r.status_code == 202, r.text
            job, polls, deadline = r.json(), 0, time.monotonic() + 300
            while job["state"] not in ("done", "failed") or polls < 8:
                assert time.monotonic() < deadline, job
                time.sleep(0.2)
                with httpx.Client(base_url=base, timeout=60) as fresh:  # a new connection: either worker
                    status = fresh.get(f"/documents/jobs/{job['id']}")
                assert status.status_code == 200, status.text  # never "no such job" from the other worker
                job, polls = status.json(), polls + 1
            assert job["state"] == "done" and [f["status"] for f in job["files"]] == ["added"], job
