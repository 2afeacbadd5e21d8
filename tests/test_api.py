"""The HTTP API in-process (FastAPI's TestClient, lifespan included) on the session index and the bundled LLM.

One engine (AskDoc, sharing the session retriever) serves every app built here, so models load once. Questions go
through the LLM only where the test is about generation; elsewhere /ask is called with "extractive": true.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from api import gate
from api.app import create_app
from corpus.errors import InvalidInputError
from rag.config import Settings
from rag.pipeline import AskDoc
from rag.rerank import reranker_dir
from rag.retrieve import Retriever

QUESTION = "What is self-attention?"  # answerable: goes through the LLM unless extractive
LLM_QUESTION = "Why is Flash attention needed?"
HIT_FIELDS = {"rank", "section_id", "heading", "category", "score", "snippet"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def engine(askdoc: AskDoc) -> AskDoc:
    return askdoc  # the session engine (conftest): index, embedder and LLM loaded once for the whole run


@pytest.fixture(scope="module")
def client(settings: Settings, engine: AskDoc) -> Iterator[TestClient]:
    with TestClient(create_app(settings, askdoc=engine)) as c:  # runs the lifespan: warm_up, LLM included
        yield c


@pytest.fixture(scope="module")
def section_id(engine: AskDoc) -> str:
    return engine.search(QUESTION).hits[0].section_id


def _app(settings: Settings, engine: AskDoc, **changes: Any) -> FastAPI:
    return create_app(settings.replace(**changes), askdoc=engine)


def error_of(r: Response, status: int) -> str:
    """The response is the API's JSON error with this status; returns its message."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json"), r.headers
    body = r.json()
    assert set(body) == {"error"} and isinstance(body["error"]["type"], str), body
    message = body["error"]["message"]
    assert isinstance(message, str) and message.strip(), body
    return message


def post_json(client: TestClient, path: str, body: Any) -> Response:
    """json.dumps escapes what httpx would refuse to encode (lone surrogates): the server sees the raw escapes."""
    return client.post(path, content=json.dumps(body), headers={"Content-Type": "application/json"})


def sse_events(text: str) -> list[tuple[str, str]]:
    """(event, data) pairs of a text/event-stream body; event is "" for data-only events."""
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        event, data = "", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[len("event:") :].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:") :].strip())
        events.append((event, "\n".join(data)))
    return events


def wait_until_free(client: TestClient, limit_s: float = 120.0) -> None:
    """Until the answer queue takes a request again (an abandoned answer has finished in its thread)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        r = client.post("/ask", json={"question": QUESTION, "extractive": True})
        if r.status_code == 200:
            return
        assert r.status_code == 503, r.text
        time.sleep(0.2)
    raise AssertionError("the answer queue never drained")


# ---- health, docs --------------------------------------------------------------------------------------------
def test_health_and_readiness(client: TestClient, engine: AskDoc) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    data = ready.json()
    assert data["status"] == "ready" and data["sections"] == len(engine.retriever.index.sections) > 200
    assert data["llm"] and data["llm"] == engine.llm_name


def test_openapi_and_docs(client: TestClient) -> None:
    spec = client.get("/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    assert {"/ask", "/search", "/sections/{section_id}", "/v1/chat/completions", "/healthz", "/readyz"} <= set(paths)
    docs = client.get("/docs")
    assert docs.status_code == 200 and "<code>POST /ask</code>" in docs.text
    assert "body <code>AskRequest</code>" in docs.text and "<code>collection</code> (query)" in docs.text
    assert "https://" not in docs.text and "<script" not in docs.text  # works offline: nothing to fetch


# ---- search, sections ----------------------------------------------------------------------------------------
def test_search_matches_the_cli_json(client: TestClient, engine: AskDoc) -> None:
    r = client.post("/search", json={"question": "focal loss gamma", "k": 3, "mode": "bm25"})
    assert r.status_code == 200
    data = r.json()
    # `askdoc search --json` prints SearchResult.to_json(): the same object, timings aside.
    expected = engine.search("focal loss gamma", 3, "bm25").to_json()
    assert (
        set(data)
        == set(expected)
        == {"query", "mode", "results", "timings_ms", "corrections", "collection", "unknown_words"}
    )
    assert data["unknown_words"] == []  # the guide knows every word of it
    assert data["query"] == "focal loss gamma" and data["mode"] == "bm25"
    assert len(data["results"]) == 3 and all(set(h) >= HIT_FIELDS for h in data["results"])
    assert [h["rank"] for h in data["results"]] == [1, 2, 3]
    assert data["results"] == expected["results"]


@pytest.mark.parametrize("mode", ["hybrid", "dense"])
def test_search_modes_and_default_k(client: TestClient, settings: Settings, mode: str) -> None:
    data = client.post("/search", json={"question": "label smoothing", "mode": mode}).json()
    assert data["mode"] == mode and len(data["results"]) == settings.k


def test_section_found(client: TestClient, engine: AskDoc, section_id: str) -> None:
    r = client.get(f"/sections/{section_id}")
    assert r.status_code == 200
    data = r.json()
    section = engine.retriever.index.sections[section_id]
    assert data["id"] == section_id and data["heading"] == section.heading and data["text"] == section.text
    assert data["category"] == section.category
    assert 1 <= data["start_line"] <= data["end_line"]


def test_section_not_found(client: TestClient) -> None:
    message = error_of(client.get("/sections/no-such-section"), 404)
    assert "no-such-section" in message


# ---- ask ----------------------------------------------------------------------------------------------------
def test_ask_extractive_json(client: TestClient) -> None:
    r = client.post("/ask", json={"question": QUESTION, "extractive": True, "k": 3})
    assert r.status_code == 200
    data = r.json()
    assert {"question", "answer", "citations", "sentences", "refused", "timings", "mode"} <= set(data)
    assert data["mode"] == "extractive" and not data["refused"] and data["citations"]
    assert {"n", "section_id", "heading"} <= set(data["citations"][0])


QUESTION_OUT = "What is the boiling point of water in Celsius?"


def test_ask_out_of_scope_is_refused(client: TestClient) -> None:
    data = client.post("/ask", json={"question": QUESTION_OUT}).json()
    assert data["refused"] and data["mode"] == "refused" and data["citations"] == [] and data["nearest"]
    assert data["refusal"]["unknown_words"] == ["boiling", "water", "Celsius"]
    assert data["refusal"]["covered"] < data["refusal"]["refuse_below"] == 0.5  # the model refused it
    # Streamed, the refusal arrives as a token too: the pieces join to the final answer on every path.
    with client.stream("POST", "/ask", json={"question": QUESTION_OUT, "stream": True}) as r:
        events = sse_events(r.read().decode())
    assert [e for e, _ in events] == ["token", "final"]
    assert json.loads(events[0][1])["text"] == json.loads(events[1][1])["answer"] == data["answer"]


def test_ask_refuse_below_zero_answers_anyway(client: TestClient) -> None:
    question = "What is the boiling point of water in Celsius?"
    data = client.post("/ask", json={"question": question, "refuse_below": 0}).json()
    assert not data["refused"] and data["citations"] and data["refusal"]["covered"] < 0.5
    assert data["refusal"]["refuse_below"] == 0
    body = {"question": question, "refuse_below": 0, "stream": True}  # the streamed answer takes it too
    with client.stream("POST", "/ask", json=body) as r:
        final = json.loads(sse_events(r.read().decode())[-1][1])
    assert final["answer"] == data["answer"] and not final["refused"]
    bad = client.post("/ask", json={"question": question, "refuse_below": 1.5})
    assert bad.status_code == 422 and "refuse_below" in bad.text


def test_ask_sse_streams_tokens_then_the_same_answer(client: TestClient) -> None:
    with client.stream("POST", "/ask", json={"question": LLM_QUESTION, "stream": True}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r.read().decode())
    kinds = [e for e, _ in events]
    assert kinds[-1] == "final" and kinds.count("final") == 1 and "error" not in kinds
    assert kinds[:-1] and set(kinds[:-1]) == {"token"}
    tokens = "".join(json.loads(d)["text"] for e, d in events if e == "token")
    final = json.loads(events[-1][1])
    assert final["answer"] == tokens  # the tokens are the verified sentences, cited: they join to the answer
    plain = client.post("/ask", json={"question": LLM_QUESTION}).json()
    assert final["answer"] == plain["answer"] and final["citations"] == plain["citations"]


def test_ask_sse_by_accept_header(client: TestClient) -> None:
    body = {"question": QUESTION, "extractive": True}
    r = client.post("/ask", json=body, headers={"Accept": "text/event-stream"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r.text)
    kinds = [e for e, _ in events]
    assert kinds[-1] == "final" and kinds[:-1] and set(kinds[:-1]) == {"token"}  # extractive: quoted sentences
    answer = json.loads(events[-1][1])["answer"]
    assert answer == "".join(json.loads(d)["text"] for e, d in events[:-1])
    assert answer == client.post("/ask", json=body).json()["answer"]


# ---- OpenAI-compatible chat -----------------------------------------------------------------------------------
def test_chat_completions_plain_and_streamed(client: TestClient) -> None:
    body = {
        "model": "askdoc",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": LLM_QUESTION}],
    }
    r = client.post("/v1/chat/completions", json=body)
    assert r.status_code == 200
    data = r.json()
    assert data["object"] == "chat.completion" and data["model"] == "askdoc"
    (choice,) = data["choices"]
    assert choice["message"]["role"] == "assistant" and choice["finish_reason"] == "stop"
    content = choice["message"]["content"]
    assert content == data["askdoc"]["answer"] and isinstance(data["citations"], list)

    with client.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as s:
        assert s.status_code == 200 and s.headers["content-type"].startswith("text/event-stream")
        events = sse_events(s.read().decode())
    assert events[-1] == ("", "[DONE]")
    chunks = [json.loads(d) for _, d in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and len({c["id"] for c in chunks}) == 1 for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["citations"] == data["citations"]
    pieces = [c["choices"][0]["delta"]["content"] for c in chunks[1:-1]]
    assert "".join(pieces) == content
    # One piece per verified sentence, sent as each is ready (not the finished answer cut into words).
    assert len(pieces) == len(data["askdoc"]["sentences"])


def test_chat_takes_the_last_user_message_and_text_parts(client: TestClient) -> None:
    # Refused questions never reach the LLM: cheap, and the answer shows which message was taken.
    body = {
        "messages": [
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": "..."},
            {"role": "user", "content": [{"type": "text", "text": "What is the boiling point of water?"}]},
        ]
    }
    data = client.post("/v1/chat/completions", json=body).json()
    assert data["askdoc"]["question"] == "What is the boiling point of water?" and data["askdoc"]["refused"]


def test_collections_are_listed_without_their_folders(client: TestClient) -> None:
    data = client.get("/collections").json()
    assert data["default"] == "default" and [c["name"] for c in data["collections"]] == ["default"]
    assert {k: v for k, v in data["collections"][0].items() if k != "passages"} == {
        "name": "default",
        "documents": 1,
        "sections": 262,
    }


def test_openai_clients_find_the_model_and_uptime_checks_the_page(client: TestClient) -> None:
    models = client.get("/v1/models").json()["data"]
    assert [m["id"] for m in models] == ["askdoc"] and models[0]["created"] > 1_700_000_000  # not 1970
    assert client.get("/v1/models/askdoc").json() == models[0]  # the openai client's models.retrieve()
    for path in ("/", "/healthz", "/readyz"):
        assert client.head(path).status_code == 200, path


def test_a_long_earlier_message_does_not_break_the_chat(client: TestClient) -> None:
    """A user who pasted a long text into an OpenAI front-end: that message is no question to search with, and
    every later request of the chat still answers (it was a 400 until it left the last ten turns)."""
    body = {
        "messages": [
            {"role": "user", "content": "word " * 500},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "What is the boiling point of water?"},
        ],
        "stream": None,  # sent as null by clients that send every option: not streamed
    }
    data = post_json(client, "/v1/chat/completions", body).json()
    assert data["askdoc"]["question"] == "What is the boiling point of water?" and data["askdoc"]["refused"]


@pytest.mark.parametrize(
    ("option", "says"),
    [
        ({"n": 2}, "n=2"),
        ({"tool_choice": "required", "tools": [{"type": "function", "function": {"name": "f"}}]}, "tool_choice"),
        ({"response_format": {"type": "json_object"}}, "json_object"),
    ],
)
def test_openai_options_askdoc_cannot_honour_are_refused(client: TestClient, option: dict[str, Any], says: str) -> None:
    body = {"messages": [{"role": "user", "content": QUESTION}], **option}
    assert says in error_of(post_json(client, "/v1/chat/completions", body), 400)


# ---- bad input: always a 4xx with a JSON error, never a 500 ---------------------------------------------------
BAD_QUESTIONS = [
    pytest.param({"question": ""}, 400, "empty", id="empty"),
    pytest.param({"question": " \n\t "}, 400, "empty", id="whitespace"),
    pytest.param({"question": "x" * 2001}, 400, "2000", id="too-long"),
    pytest.param({"question": QUESTION, "k": 0}, 422, "k", id="k=0"),
    pytest.param({"question": QUESTION, "k": 51}, 422, "k", id="k=51"),
    pytest.param({"question": QUESTION, "k": "many"}, 422, "k", id="k-not-int"),
    pytest.param({"question": QUESTION, "mode": "psychic"}, 422, "mode", id="unknown-mode"),
    pytest.param({"question": 42}, 422, "question", id="question-not-string"),
    pytest.param({"k": 3}, 422, "question", id="no-question"),
    pytest.param({"question": "attention \ud800 please"}, 422, "surrogate", id="lone-surrogate"),
]


@pytest.mark.parametrize("path", ["/search", "/ask"])
@pytest.mark.parametrize(("body", "status", "says"), BAD_QUESTIONS)
def test_bad_questions(client: TestClient, path: str, body: dict[str, Any], status: int, says: str) -> None:
    if path == "/ask":
        body = {**body, "extractive": True}
    assert says in error_of(post_json(client, path, body), status)


@pytest.mark.parametrize("question", ["", "   ", "x" * 2001])
def test_bad_question_refused_before_the_stream_starts(client: TestClient, question: str) -> None:
    error_of(client.post("/ask", json={"question": question, "stream": True}), 400)


@pytest.mark.parametrize("path", ["/search", "/ask", "/v1/chat/completions"])
@pytest.mark.parametrize(
    ("content", "ctype", "status"),
    [
        pytest.param(b'{"question": "what is', "application/json", 400, id="malformed-json"),
        pytest.param(b'{"question": "caf\xe9 \xff"}', "application/json", 400, id="invalid-utf8"),
        pytest.param(b"", "application/json", 422, id="empty-body"),
        pytest.param(b"[1, 2]", "application/json", 422, id="not-an-object"),
        pytest.param(b'{"question": "what is attention"}', "text/plain", 415, id="text-plain"),
        pytest.param(b'{"question": "what is attention"}', None, 415, id="no-content-type"),
        pytest.param(b"question=attention", "application/x-www-form-urlencoded", 415, id="form"),
    ],
)
def test_bad_bodies(client: TestClient, path: str, content: bytes, ctype: str | None, status: int) -> None:
    headers = {"Content-Type": ctype} if ctype else {}
    error_of(client.post(path, content=content, headers=headers), status)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param({"messages": []}, 422, id="no-messages"),
        pytest.param({"messages": [{"role": "system", "content": "hi"}]}, 400, id="no-user-message"),
        pytest.param({"messages": [{"role": "user", "content": None}]}, 400, id="user-content-null"),
        pytest.param({"messages": [{"role": "user", "content": "  "}]}, 400, id="user-content-blank"),
        pytest.param({"messages": [{"role": "user", "content": "x" * 2001}]}, 400, id="user-content-too-long"),
        pytest.param({"messages": [{"role": "user", "content": 7}]}, 422, id="user-content-number"),
        pytest.param({"messages": [{"content": "hi"}]}, 422, id="no-role"),
        pytest.param({"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}, 422, id="part-text-5"),
        pytest.param({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}, 422, id="part-without-type"),
        pytest.param({"messages": "hi"}, 422, id="messages-not-a-list"),
        pytest.param({"model": "\udfff", "messages": [{"role": "user", "content": "hi"}]}, 422, id="model-surrogate"),
    ],
)
def test_bad_chat_requests(client: TestClient, body: dict[str, Any], status: int) -> None:
    message = error_of(post_json(client, "/v1/chat/completions", body), status)
    if body == {"messages": [{"role": "user", "content": 7}]}:  # the field as the client named it, nothing more
        assert message.startswith("messages.0.content: "), message


def test_a_bug_is_one_json_500_that_keeps_the_connection(settings: Settings, engine: AskDoc) -> None:
    """An unexpected exception is answered by the gatekeeper: the 500 is the API's JSON error and nothing is
    raised past it (Starlette's own `Exception` handler re-raises after its response, and uvicorn then drops the
    client's keep-alive connection; TestClient re-raises it instead of answering)."""
    app = _app(settings, engine)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app) as c:  # raise_server_exceptions: anything raised past the app fails this test
        assert error_of(c.get("/boom"), 500) == "internal error (see the server log)"
        assert c.get("/healthz").status_code == 200


def test_unknown_path_and_wrong_method(client: TestClient) -> None:
    error_of(client.get("/nowhere"), 404)
    error_of(client.post("/nowhere", content=b"x"), 404)
    error_of(client.get("/ask"), 405)
    error_of(client.post("/healthz"), 405)


# ---- API key -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def keyed(settings: Settings, engine: AskDoc) -> Iterator[TestClient]:
    with TestClient(_app(settings, engine, api_key="s3cret", cors_origins="http://ui.test")) as c:
        yield c


def _requests(section_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    # The chat request has no user message: with the key it passes auth and gets 400, without running the LLM.
    return [
        ("POST", "/search", {"question": "label smoothing"}),
        ("POST", "/ask", {"question": QUESTION, "extractive": True}),
        ("POST", "/ask", {"question": QUESTION, "extractive": True, "stream": True}),
        ("GET", f"/sections/{section_id}", None),
        ("POST", "/v1/chat/completions", {"messages": [{"role": "system", "content": "hi"}]}),
        ("GET", "/openapi.json", None),
        ("GET", "/docs", None),
    ]


def test_api_key_required_everywhere_but_health(keyed: TestClient, section_id: str) -> None:
    for method, path, body in _requests(section_id):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
            error_of(keyed.request(method, path, json=body, headers=headers), 401)
    for path in ("/healthz", "/readyz"):
        assert keyed.get(path).status_code == 200


@pytest.mark.parametrize("scheme", ["Bearer", "bearer"])  # the scheme is case-insensitive, the key is not
def test_api_key_accepted(keyed: TestClient, section_id: str, scheme: str) -> None:
    auth = {"Authorization": f"{scheme} s3cret"}
    expected = {"/v1/chat/completions": 400}
    for method, path, body in _requests(section_id):
        r = keyed.request(method, path, json=body, headers=auth)
        assert r.status_code == expected.get(path, 200), (path, r.text)
    error_of(keyed.get("/openapi.json", headers={"Authorization": "Bearer S3CRET"}), 401)


def test_cors_preflight_is_not_blocked_by_the_key(keyed: TestClient) -> None:
    headers = {"Origin": "http://ui.test", "Access-Control-Request-Method": "POST"}
    r = keyed.options("/ask", headers={**headers, "Access-Control-Request-Headers": "authorization,content-type"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "http://ui.test"
    # OpenAI's JavaScript client sends headers of its own; a page removes documents with DELETE
    stainless = {**headers, "Access-Control-Request-Headers": "authorization,x-stainless-os"}
    assert keyed.options("/v1/chat/completions", headers=stainless).status_code == 200
    delete = {"Origin": "http://ui.test", "Access-Control-Request-Method": "DELETE"}
    assert keyed.options("/documents/x", headers=delete).status_code == 200
    denied = keyed.post("/search", json={"question": "x"}, headers={"Origin": "http://ui.test"})
    error_of(denied, 401)
    assert denied.headers["access-control-allow-origin"] == "http://ui.test"  # the browser may read the error


# ---- queue bound and timeout (the generation lock held by the test: deterministic, no sleeps on the LLM) ------
def _in_thread(fn: Any) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}
    t = threading.Thread(target=lambda: out.update(r=fn()), daemon=True)
    t.start()
    return t, out


@pytest.fixture
def asking(engine: AskDoc, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Set once an answer has passed the queue gate and runs in its worker thread (then it waits for the lock)."""
    started = threading.Event()
    ask = engine.ask

    def traced(*args: Any, **kwargs: Any) -> Any:
        started.set()
        return ask(*args, **kwargs)

    monkeypatch.setattr(engine, "ask", traced)
    return started


def test_queue_full_gives_503_and_search_still_answers(
    settings: Settings, engine: AskDoc, asking: threading.Event
) -> None:
    with TestClient(_app(settings, engine, max_pending_answers=1)) as c:
        assert engine.generation_lock.acquire(timeout=60)
        try:
            first, out = _in_thread(lambda: c.post("/ask", json={"question": QUESTION}))
            assert asking.wait(30), out  # the first answer holds the one slot, waiting for the lock
            busy = c.post("/ask", json={"question": QUESTION, "extractive": True})
            assert "retry" in error_of(busy, 503)
            assert busy.headers["retry-after"].isdigit()
            assert int(busy.headers["retry-after"]) > 0
            sse = c.post("/ask", json={"question": QUESTION, "stream": True})
            error_of(sse, 503)
            assert sse.headers["retry-after"]
            error_of(c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]}), 503)
            t = time.perf_counter()
            search = c.post("/search", json={"question": QUESTION})
            assert search.status_code == 200 and search.json()["results"]
            assert time.perf_counter() - t < 30
            assert first.is_alive()  # still waiting for the lock
        finally:
            engine.generation_lock.release()
        first.join(120)
        assert not first.is_alive() and out["r"].status_code == 200, out
        assert not out["r"].json()["refused"]
        assert c.post("/ask", json={"question": QUESTION, "extractive": True}).status_code == 200


@pytest.fixture
def clock_starts_with_the_answer(asking: threading.Event, monkeypatch: pytest.MonkeyPatch) -> None:
    """The gate's timeout counts from the moment the answer's worker thread runs, not from the request: on a busy
    machine the thread may take longer than the timeout to start, and the test is about an answer that started."""
    wait_for = asyncio.wait_for

    async def after_start(aw: Awaitable[Any], timeout: float) -> Any:
        task = asyncio.ensure_future(aw)  # starts the worker thread
        assert await asyncio.to_thread(asking.wait, 60), "the answer's worker thread never started"
        return await wait_for(task, timeout)

    monkeypatch.setattr(gate, "asyncio", SimpleNamespace(wait_for=after_start))


@pytest.mark.usefixtures("clock_starts_with_the_answer")
def test_timeout_gives_504_and_the_abandoned_answer_still_counts(
    settings: Settings, engine: AskDoc, asking: threading.Event
) -> None:
    with TestClient(_app(settings, engine, max_pending_answers=1, request_timeout_s=1.0)) as c:
        assert engine.generation_lock.acquire(timeout=60)
        try:
            t = time.perf_counter()
            message = error_of(c.post("/ask", json={"question": QUESTION}), 504)
            assert "1 s" in message and time.perf_counter() - t < 20  # at once, while the lock is still held
            assert asking.is_set()
            # The answer's thread is still waiting for the lock: its place in the queue is not given away.
            error_of(c.post("/ask", json={"question": QUESTION, "extractive": True}), 503)
        finally:
            engine.generation_lock.release()
        wait_until_free(c)  # and the slot comes back once that answer is done


# ---- while the models load -----------------------------------------------------------------------------------
def test_readyz_and_endpoints_answer_503_while_models_load(
    settings: Settings, engine: AskDoc, section_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    loading, release, up, stop = (threading.Event() for _ in range(4))
    warm_up = engine.warm_up

    def slow_warm_up(*args: Any, **kwargs: Any) -> None:  # the lifespan's model loading, held until released
        loading.set()
        assert release.wait(60)
        warm_up(*args, **kwargs)

    monkeypatch.setattr(engine, "warm_up", slow_warm_up)
    app = _app(settings, engine)

    def serve() -> None:  # the server starting up: its lifespan runs in this thread
        with TestClient(app):
            up.set()
            stop.wait(60)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        assert loading.wait(30)
        probe = TestClient(app)  # no lifespan of its own: it sees the app as the starting server has it
        assert probe.get("/healthz").json() == {"status": "ok"}  # alive, but not ready
        assert "loading" in error_of(probe.get("/readyz"), 503)
        chat = ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": QUESTION}]})
        for method, path, body in [*_requests(section_id)[:4], chat]:
            assert "loading" in error_of(probe.request(method, path, json=body), 503), path
        release.set()
        assert up.wait(60)
        assert probe.get("/readyz").status_code == 200
        assert probe.post("/search", json={"question": "label smoothing"}).status_code == 200
    finally:
        release.set()
        stop.set()
        server.join(60)


# ---- mode rerank ---------------------------------------------------------------------------------------------
def test_mode_rerank_without_a_trained_reranker_serves_hybrid(client: TestClient, settings: Settings) -> None:
    assert not reranker_dir(settings.index_dir).exists()  # the premise: nothing trained for the session index
    body = {"question": "explain label smoothing", "k": 3}
    reranked = client.post("/search", json={**body, "mode": "rerank"})
    assert reranked.status_code == 200, reranked.text
    data = reranked.json()
    assert data["mode"] == "hybrid"  # says which mode served it
    assert data["results"] == client.post("/search", json={**body, "mode": "hybrid"}).json()["results"]
    assert data["results"][0]["heading"] == "Explain Label Smoothing"
    answer = client.post("/ask", json={**body, "mode": "rerank", "extractive": True})
    assert answer.status_code == 200 and not answer.json()["refused"] and answer.json()["citations"]


# ---- request body size ---------------------------------------------------------------------------------------
def test_oversized_body_gets_413(settings: Settings, engine: AskDoc, client: TestClient) -> None:
    assert Settings().max_request_bytes == 1 << 20
    big = json.dumps({"question": "label smoothing", "pad": "x" * (1 << 20)}).encode()
    assert "1048576 bytes" in error_of(client.post("/search", content=big, headers=JSON), 413)
    with TestClient(_app(settings, engine, max_request_bytes=1000)) as c:
        body = json.dumps({"question": "label smoothing", "pad": "x" * 1000}).encode()
        for path in ("/search", "/ask", "/v1/chat/completions"):
            assert "1000 bytes" in error_of(c.post(path, content=body, headers=JSON), 413), path
        # No Content-Length (a chunked body): counted as it arrives.
        chunked = c.post("/search", content=iter([body[:600], body[600:]]), headers=JSON)
        assert "content-length" not in chunked.request.headers
        assert "1000 bytes" in error_of(chunked, 413)
        under = json.dumps({"question": "label smoothing", "pad": "x" * 900}).encode()
        assert len(under) <= 1000 and c.post("/search", content=under, headers=JSON).status_code == 200


def test_max_request_bytes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASKDOC_MAX_REQUEST_BYTES", "5000")
    assert Settings.from_env().max_request_bytes == 5000
    monkeypatch.setenv("ASKDOC_MAX_REQUEST_BYTES", "0")
    with pytest.raises(InvalidInputError, match="max_request_bytes"):
        Settings.from_env()


# ---- generation failing mid-stream ----------------------------------------------------------------------------
DRAFT = "Self-attention relates every token of a sequence to every other token. It weighs them by relevance"


class DroppingChatServer(ThreadingHTTPServer):
    """An OpenAI-compatible chat server that streams a few chunks of an answer, then drops the connection."""

    chunks_sent = 0

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for word in DRAFT.split(" "):
                delta = {"content": word + " "}
                chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                         "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}  # fmt: skip
                event = f"data: {json.dumps(chunk)}\n\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                self.wfile.flush()
                self.server.chunks_sent += 1  # type: ignore[attr-defined]
            self.wfile.write(b"ffff\r\ncut short")  # a chunk that never ends: the connection drops mid-answer
            self.close_connection = True

        def log_message(self, *_: Any) -> None:
            pass


@pytest.fixture
def dropping_server() -> Iterator[DroppingChatServer]:
    server = DroppingChatServer(("127.0.0.1", 0), DroppingChatServer.Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_sse_error_event_when_generation_fails_mid_stream(
    settings: Settings, retriever: Retriever, dropping_server: DroppingChatServer
) -> None:
    url = f"http://127.0.0.1:{dropping_server.server_address[1]}/v1"
    backend = settings.replace(llm_backend="openai", openai_base_url=url, answer_style="generate")
    failing = AskDoc(backend, retriever=retriever)  # the real pipeline and client; only the server fails
    with TestClient(create_app(backend.replace(max_pending_answers=1), askdoc=failing)) as c:
        with c.stream("POST", "/ask", json={"question": QUESTION, "stream": True}) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            events = sse_events(r.read().decode())
        assert dropping_server.chunks_sent == len(DRAFT.split(" "))  # it failed mid-answer, not before it
        kinds = [e for e, _ in events]
        assert kinds[-1] == "error" and kinds.count("error") == 1 and "final" not in kinds, events
        assert set(kinds[:-1]) <= {"token"}
        assert json.loads(events[-1][1])["message"].strip()
        # The failed answer gave back its queue place and the generation lock.
        assert not failing.generation_lock.locked()
        # The OpenAI stream ends the way OpenAI's own does: an error object, then [DONE].
        chat = {"messages": [{"role": "user", "content": QUESTION}], "stream": True}
        with c.stream("POST", "/v1/chat/completions", json=chat) as r:
            events = sse_events(r.read().decode())
        assert events[-1] == ("", "[DONE]") and json.loads(events[-2][1])["error"]["message"].strip()
        assert not failing.generation_lock.locked()
        assert c.post("/ask", json={"question": QUESTION, "extractive": True}).status_code == 200
