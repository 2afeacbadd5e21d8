"""Follow-up questions on the real index and models: the engine, HTTP /ask, /search and /v1/chat/completions with
history, and `askdoc chat` reading a pipe. The decision rules themselves are pure (rag.followup) and tested here
on their own too."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from cli.main import main
from corpus.errors import InvalidInputError
from rag.config import Settings
from rag.followup import MAX_TURNS, FollowupConfig, Turn, boost, check_history, depends_on_history, plan_search
from rag.pipeline import AskDoc

BAGGING = "explain-bagging-method-in-ensemble-learning"
FIRST = "Explain bagging in ensemble learning."
FOLLOWUP = "does it reduce bias or variance?"  # alone, it finds the bias-variance sections, not bagging
CLT = "explain-the-central-limit-theorem-and-give-examples-of-when-you"
TOPIC_CHANGE = "What is the central limit theorem?"


def everything(_: str) -> bool:
    return True


@pytest.fixture(scope="module")
def client(settings: Settings, askdoc: AskDoc) -> Iterator[TestClient]:
    with TestClient(create_app(settings, askdoc=askdoc)) as c:
        yield c


def top(askdoc: AskDoc, question: str, history: list[Turn] | None = None) -> str:
    return askdoc.search(question, history=history or []).hits[0].section_id


# The rules, without the index.


def test_a_short_question_pointing_back_depends_on_the_history() -> None:
    config = FollowupConfig()
    assert depends_on_history("what about its gamma?", everything, config)
    assert depends_on_history("any drawbacks?", everything, config)  # names no topic at all
    assert depends_on_history("what if I use vinegar instead?", everything, config)  # instead of what was said
    assert depends_on_history("What if the data is imbalanced?", everything, config)
    assert not depends_on_history("What is the central limit theorem?", everything, config)
    long_one = "what is it that makes gradient boosted decision trees slow on sparse text features?"
    assert not depends_on_history(long_one, everything, config)  # "it", but it names its own topic


def test_a_question_naming_only_unknown_things_stands_alone() -> None:
    # An unknown topic is still a topic: searched alone, the question can be refused rather than being answered
    # with the previous turn's sections.
    config = FollowupConfig()
    nothing = lambda _: False  # noqa: E731
    assert not depends_on_history("What is a zebra?", nothing, config)
    assert not depends_on_history("tell me a joke", nothing, config)
    assert depends_on_history("what about its gama?", nothing, config)  # points back, typo or not
    assert depends_on_history("why?", nothing, config)
    for more in ("can you elaborate?", "clarify?", "pseudocode?", "tl;dr", "explain it simpler"):
        assert depends_on_history(more, nothing, config), more  # asks for more of the last answer


def test_a_follow_up_carries_the_topic_and_the_cited_sections() -> None:
    history = [Turn("What is focal loss?", ("focal",))]
    plan = plan_search("what about its gamma?", history, everything)
    assert plan.depends and plan.search == "what about its gamma? focal loss" and set(plan.prior) == {"focal"}
    alone = plan_search("What is dropout?", history, everything)
    assert not alone.depends and alone.search == "What is dropout?" and not alone.prior
    # A follow-up of a follow-up still carries the topic that started the conversation.
    chained = plan_search("and why?", [*history, Turn("what about its gamma?", ("focal",))], everything)
    assert "focal loss" in chained.search


def test_a_follow_up_naming_another_place_asks_the_same_of_it() -> None:
    """ "and in Manchester?" after London's hotel limit searched "hotel limit London" with London's section first."""
    history = [Turn("What is the hotel limit in London?", ("london",))]
    plan = plan_search("and in Manchester?", history, everything)
    assert plan.search == "and in Manchester? hotel limit" and plan.prior == {}
    # A comparison keeps both; an acronym or coined name adds to the topic ("VRAM" stays beside "AdamW").
    compared = plan_search("how does it compare to Manchester?", history, everything)
    assert "London" in compared.search and compared.prior == {"london": 0.15}
    vram = plan_search("and for training with AdamW?", [Turn("How much VRAM does a 7B LLM need?", ("v",))], everything)
    assert vram.search == "and for training with AdamW? VRAM 7B LLM" and vram.prior == {"v": 0.15}


def test_the_prior_raises_the_cited_section() -> None:
    ranking = [(0, 1.0), (1, 0.95), (2, 0.5)]
    section = {0: "a", 1: "b", 2: "c"}.__getitem__
    assert [r for r, _ in boost(ranking, section, {"b": 0.1})] == [1, 0, 2]
    assert boost(ranking, section, {}) == ranking


def test_bad_history_is_refused_with_a_reason() -> None:
    with pytest.raises(InvalidInputError, match="limit is 10"):
        check_history([Turn("q")] * (MAX_TURNS + 1), str)


# The engine on the real index.


def test_a_follow_up_that_fails_alone_is_found_with_history(askdoc: AskDoc) -> None:
    history = [Turn(FIRST, (BAGGING,))]
    assert top(askdoc, FOLLOWUP) != BAGGING
    assert top(askdoc, FOLLOWUP, history) == BAGGING
    # Questions only (a client that does not send back the cited sections): the carried words still go along.
    assert "bagging" in askdoc.search(FOLLOWUP, history=[Turn(FIRST)]).search_question.lower()
    answer = askdoc.ask(FOLLOWUP, extractive=True, history=history).to_json()
    assert {c["section_id"] for c in answer["citations"]} == {BAGGING}
    assert answer["question"] == FOLLOWUP and "bagging" in answer["search_question"].lower()


def test_a_topic_change_is_not_dragged_back(askdoc: AskDoc) -> None:
    history = [Turn("What is focal loss?", ("what-is-focal-loss-how-does-it-help-mitigate-class-imbalance",))]
    assert top(askdoc, TOPIC_CHANGE, history) == CLT
    assert askdoc.ask(TOPIC_CHANGE, extractive=True, history=history).to_json()["search_question"] == TOPIC_CHANGE


@pytest.mark.parametrize("question", ["What is a zebra?", "What is kubernetes?"])
def test_an_off_topic_question_after_a_turn_is_refused(askdoc: AskDoc, question: str) -> None:
    # It used to be searched with the last turn's topic and answered with the focal-loss section, as confident.
    history = [Turn("What is focal loss?", ("what-is-focal-loss-how-does-it-help-mitigate-class-imbalance",))]
    answer = askdoc.ask(question, extractive=True, history=history)
    assert answer.refused and answer.to_json()["search_question"] == question


# HTTP.


def test_ask_with_history(client: TestClient) -> None:
    body = {"question": FOLLOWUP, "extractive": True, "history": [{"question": FIRST, "sections": [BAGGING]}]}
    data = client.post("/ask", json=body).json()
    assert {c["section_id"] for c in data["citations"]} == {BAGGING}, data
    alone = client.post("/ask", json={"question": FOLLOWUP, "extractive": True}).json()
    assert BAGGING not in {c["section_id"] for c in alone["citations"]}
    assert alone["search_question"] == FOLLOWUP
    # Streaming uses the history too: the final event is the same answer.
    r = client.post("/ask", json=body | {"stream": True})
    final = [block for block in r.text.split("\n\n") if block.startswith("event: final")]
    assert len(final) == 1 and json.loads(final[0].split("data: ", 1)[1])["citations"] == data["citations"]


def test_search_with_history(client: TestClient) -> None:
    body = {"question": FOLLOWUP, "history": [{"question": FIRST, "sections": [BAGGING]}]}
    data = client.post("/search", json=body).json()
    assert data["results"][0]["section_id"] == BAGGING and data["query"] == FOLLOWUP
    assert "bagging" in data["search_question"].lower()


def test_chat_completions_use_the_message_history(client: TestClient) -> None:
    first = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": FIRST}]}).json()
    assert first["citations"]
    reply = first["choices"][0]["message"] | {"citations": first["citations"]}
    messages = [{"role": "user", "content": FIRST}, reply, {"role": "user", "content": FOLLOWUP}]
    data = client.post("/v1/chat/completions", json={"messages": messages}).json()
    assert {c["section_id"] for c in data["citations"]} == {BAGGING}, data
    # A client that keeps only the text of the replies: the earlier question still carries the topic.
    bare = [messages[0], {"role": "assistant", "content": reply["content"]}, messages[2]]
    data = client.post("/v1/chat/completions", json={"messages": bare}).json()
    assert "bagging" in data["askdoc"]["search_question"].lower(), data


@pytest.mark.parametrize(
    ("history", "status", "words"),
    [
        ([{"question": "q"}] * (MAX_TURNS + 1), 422, "history"),
        ([{"question": "x" * 2001}], 400, "history turn 1"),
        ([{"question": "   "}], 400, "history turn 1"),
        ([{"sections": ["a"]}], 422, "history.0.question"),
        ("not a list", 422, "history"),
    ],
)
def test_bad_history_gets_a_clear_error(client: TestClient, history: object, status: int, words: str) -> None:
    for path in ("/ask", "/search"):
        r = client.post(path, json={"question": FOLLOWUP, "extractive": True, "history": history})
        assert r.status_code == status, r.text
        assert words in r.json()["error"]["message"], r.text


# The terminal conversation.


def test_chat_answers_a_follow_up_read_from_a_pipe(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, index_dir: Path, askdoc: AskDoc
) -> None:
    lines = f"{FIRST}\n{FOLLOWUP}\n/nwe\n/new\n{FOLLOWUP}\n"  # a mistyped command is said, never asked
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    capsys.readouterr()
    assert main(["chat", "--extractive", "--index-dir", str(index_dir), "--device", "cpu"]) == 0
    out, err = capsys.readouterr()
    assert "askdoc: unknown command /nwe: Ask a question;" in err and "/new starts over" in err
    turns = out.split("> ")[1:]
    assert len(turns) == 3 and turns[0].startswith(FIRST) and turns[1].startswith(FOLLOWUP), out
    assert f"[{BAGGING}]" in turns[1].split("Sources:")[1]  # the follow-up, answered from bagging
    assert "(new conversation)" in turns[1] and f"[{BAGGING}]" not in turns[2]  # after /new it stands alone
