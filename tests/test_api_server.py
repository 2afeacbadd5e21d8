"""The HTTP API as deployed: a real uvicorn process on a loopback port, driven by httpx and the official OpenAI
client. The server opens the session index (built by the `retriever` fixture) and loads its own models."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openai import BadRequestError, OpenAI
from servers import askdoc_api, child_env, free_port, running

from rag.config import Settings
from rag.retrieve import Retriever

QUESTION = "Why is Flash attention needed?"


@pytest.fixture(scope="module")
def server(settings: Settings, retriever: Retriever, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert retriever.index.sections  # the session index exists on disk before the server opens it
    uvicorn = ["-m", "uvicorn", "api.app:create_app", "--factory"]
    log_path = tmp_path_factory.mktemp("server") / "uvicorn.log"
    # request_timeout_s: a stuck generation lock shows as a 504, well before the test's timeout
    with askdoc_api(settings.index_dir, log_path, uvicorn, request_timeout_s="90") as base:
        yield base


@pytest.fixture(scope="module")
def http(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=120) as c:
        yield c


@pytest.fixture(scope="module")
def openai_client(server: str) -> OpenAI:
    return OpenAI(base_url=f"{server}/v1", api_key="x", max_retries=0, timeout=120)


def test_health_search_and_sections(http: httpx.Client) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    assert http.get("/readyz").json()["llm"]
    r = http.post("/search", json={"question": "what is a seed in LLM sampling", "k": 3})
    assert r.status_code == 200
    data = r.json()
    assert data["mode"] == "hybrid" and [h["rank"] for h in data["results"]] == [1, 2, 3]
    top = data["results"][0]["section_id"]
    section = http.get(f"/sections/{top}")
    assert section.status_code == 200 and section.json()["heading"] == data["results"][0]["heading"]
    missing = http.get("/sections/not-a-section")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found"


def test_ask_and_bad_input(http: httpx.Client) -> None:
    r = http.post("/ask", json={"question": "What is self-attention?", "extractive": True})
    assert r.status_code == 200 and r.json()["citations"] and r.json()["mode"] == "extractive"
    for content, status in ((b'{"question": "\xff"}', 400), (b'{"question": ""}', 400), (b'{"k": 0}', 422)):
        bad = http.post("/search", content=content, headers={"Content-Type": "application/json"})
        assert bad.status_code == status and bad.json()["error"]["message"], bad.text


def test_openai_client_plain_and_streamed(openai_client: OpenAI) -> None:
    messages = [{"role": "user", "content": QUESTION}]
    completion = openai_client.chat.completions.create(model="askdoc", messages=messages)  # type: ignore[arg-type]
    content = completion.choices[0].message.content
    assert content and completion.choices[0].finish_reason == "stop"
    extra = completion.model_extra or {}
    assert isinstance(extra.get("citations"), list) and extra["askdoc"]["answer"] == content
    if extra["askdoc"]["mode"] != "refused":
        assert extra["citations"] and {"n", "section_id"} <= set(extra["citations"][0])

    stream = openai_client.chat.completions.create(model="askdoc", messages=messages, stream=True)  # type: ignore[arg-type]
    parts: list[str] = []
    citations = None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
        if (chunk.model_extra or {}).get("citations") is not None:
            citations = chunk.model_extra["citations"]  # type: ignore[index]
    assert "".join(parts) == content
    assert citations == extra["citations"]


def test_openai_client_sees_a_bad_request(openai_client: OpenAI) -> None:
    with pytest.raises(BadRequestError) as err:
        openai_client.chat.completions.create(model="askdoc", messages=[{"role": "system", "content": "hi"}])
    assert err.value.status_code == 400 and "no user message" in str(err.value)


def test_a_client_that_leaves_mid_stream_does_not_block_later_answers(http: httpx.Client, server: str) -> None:
    body = {"question": "What is self-attention?", "stream": True}
    # Its own connection, closed after the first token while the answer is being generated.
    with httpx.Client(base_url=server, timeout=120) as leaving, leaving.stream("POST", "/ask", json=body) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("event: token"):
                break
        else:
            pytest.fail("no token event")
    start = time.monotonic()
    r = http.post("/ask", json={"question": QUESTION})  # needs the generation lock the stream held
    assert r.status_code == 200, r.text
    assert not r.json()["refused"] and time.monotonic() - start < 90


def test_a_first_run_server_answers_at_once_and_says_what_it_is_doing(tmp_path: Path) -> None:
    """A first run builds its index while the server answers: /healthz and the page at once, /readyz and the API
    503 "starting: …" (with Retry-After, which the page waits out) until the models and the index are ready. It
    used to refuse every connection until then, for a minute or more on the guide."""
    corpus = tmp_path / "kiln.md"
    corpus.write_text("# Kiln guide\n\n## How hot does the kiln get?\nThe kiln reaches 1300 degrees at full power.\n")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = child_env(index_dir=str(tmp_path / "idx"), device="cpu", corpus_path=str(corpus))
    env |= {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    argv = [sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with running(argv, tmp_path / "serve.log", lambda: httpx.get(f"{base}/healthz", timeout=5).is_success, 120, env):
        # A fresh folder: the embedder is exported to ONNX and the index built, seconds at the least.
        starting = httpx.get(f"{base}/readyz", timeout=5)
        assert starting.status_code == 503 and starting.headers["retry-after"] == "2", starting.text
        assert starting.json()["error"]["message"].startswith("starting: "), starting.text
        assert httpx.get(f"{base}/", timeout=5).is_success  # the page, which says it is starting
        asked = httpx.post(f"{base}/search", json={"question": "How hot does the kiln get?"}, timeout=5)
        assert asked.status_code == 503 and asked.json()["error"]["message"].startswith("starting: "), asked.text
        deadline = time.monotonic() + 300
        while (ready := httpx.get(f"{base}/readyz", timeout=5)).status_code != 200:
            assert time.monotonic() < deadline, ready.text
            time.sleep(0.5)
        found = httpx.post(f"{base}/search", json={"question": "How hot does the kiln get?"}, timeout=30).json()
        assert found["results"][0]["heading"] == "How hot does the kiln get?"
