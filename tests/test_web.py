"""The chat page in a real browser: Debian's Chromium driven by Playwright against a real `askdoc serve` (the
session index, the bundled models) that requires an API key and lets one answer run at a time. Each test saves a
screenshot under test-artifacts/.

Without Chromium the tests skip with a loud reason; under CI (CI=true) they fail instead: CI installs it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from servers import ROOT, askdoc_api, child_env

from rag.config import Settings
from rag.retrieve import Retriever

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
KEY = "web-test-key"
FOCAL = "what-is-focal-loss-how-does-it-help-mitigate-class-imbalance"
FOCAL_HEADING = "What is focal loss? How does it help mitigate class imbalance?"
# Alone, this follow-up retrieves other sections (checked below); after "What is focal loss?" it is about focal loss.
FOLLOW_UP = "How does it compare to cross-entropy?"
DONE = re.compile(r"^answer( refused| failed)?$")  # the answer box's class once the answer is complete
TIMEOUT_MS = 120_000  # one answer on a busy 2-core machine, with margin

try:
    from playwright.sync_api import Browser, Locator, Page, Playwright, expect, sync_playwright
except ImportError:  # pragma: no cover - reported by the fixture below
    sync_playwright = None


def _unavailable(reason: str) -> None:
    message = f"BROWSER TESTS NOT RUN: {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI must run them)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if sync_playwright is None:
        _unavailable("Playwright for Python is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    b = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
    yield b
    b.close()


@pytest.fixture(scope="module")
def server(settings: Settings, retriever: Retriever, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert retriever.index.sections  # the session index exists on disk before the server opens it
    log_path = tmp_path_factory.mktemp("web") / "askdoc-serve.log"
    serve = ["-m", "cli.main", "serve"]
    # max_pending_answers=1: a second answer at once gets a real 503 with Retry-After
    with askdoc_api(
        settings.index_dir, log_path, serve, api_key=KEY, max_pending_answers="1", request_timeout_s="90"
    ) as base:
        yield base


@contextlib.contextmanager
def _opened(browser: Browser, server: str, key: bool) -> Iterator[Page]:
    """The page in a fresh browser profile (empty localStorage), holding the API key when `key`. It records, for
    each answer sentence put on screen, whether the answer was still streaming then."""
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 800})
    if key:
        context.add_init_script(f"localStorage.setItem('askdoc.apiKey', {json.dumps(KEY)})")
    context.add_init_script(
        """window.__streamed = 0;
        new MutationObserver((changes) => { for (const c of changes) for (const n of c.addedNodes) {
            if (n.classList && n.classList.contains('sentence') && n.closest('.answer.pending')) window.__streamed++;
        } }).observe(document, {childList: true, subtree: true});"""
    )
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.set_default_timeout(TIMEOUT_MS)
    p.goto("/")
    yield p
    context.close()
    assert not errors, f"script errors on the page: {errors}"


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    with _opened(browser, server, key=True) as p:
        yield p


@pytest.fixture
def keyless_page(browser: Browser, server: str) -> Iterator[Page]:
    with _opened(browser, server, key=False) as p:
        yield p


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def ask(page: Page, question: str) -> Locator:
    """Types the question and presses Enter; returns the last turn's answer box once it is final."""
    before = page.locator(".turn").count()
    page.fill("#question", question)
    page.press("#question", "Enter")
    return final(page.locator(".turn").nth(before).locator(".answer"))


def final(answer: Locator) -> Locator:
    """The answer box once its answer is complete (answered, refused or failed)."""
    expect(answer).to_have_class(DONE)
    return answer


def asks(page: Page) -> list[dict[str, Any]]:
    """The bodies of the /ask requests the page sends from now on."""
    bodies: list[dict[str, Any]] = []
    page.on("request", lambda r: bodies.append(r.post_data_json) if r.url.endswith("/ask") else None)
    return bodies


def test_answer_streams_with_citations_and_opens_its_source(page: Page, server: str) -> None:
    answer = ask(page, "What is focal loss?")
    sentences = answer.locator(".sentence")
    assert sentences.count() >= 2
    assert page.evaluate("window.__streamed") >= sentences.count()  # each was on screen before the answer was final
    for i in range(sentences.count()):
        assert sentences.nth(i).locator("button.cite").count() >= 1, sentences.nth(i).inner_text()
    source = answer.locator(".sources li").first
    expect(source).to_contain_text(FOCAL_HEADING)
    expect(source.locator(".category")).to_have_text("Deep Learning")
    expect(source.locator(".where")).to_have_text("interview_questions.txt")  # which document it is from
    expect(source.locator(".score")).to_have_text(re.compile(r"^\d\.\d\d$"))

    second = sentences.nth(1)
    quoted = second.inner_text().rsplit("[", 1)[0].strip()
    second.locator("button.cite").first.click()
    panel = page.locator("#panel")
    expect(panel).to_be_visible()
    expect(page.locator("#panel-heading")).to_have_text(FOCAL_HEADING)
    expect(page.locator("#panel-where")).to_have_text(re.compile(r"^interview_questions\.txt, lines \d+–\d+$"))
    mark = panel.locator("mark")
    expect(mark).to_have_count(1)
    assert " ".join(mark.inner_text().split()) == " ".join(quoted.split())
    expect(mark).to_be_in_viewport()
    shot(page, "answer-and-source")


def test_refused_question_offers_the_nearest_sections(page: Page) -> None:
    answer = ask(page, "What is the capital of France?")
    expect(answer).to_have_class("answer refused")
    expect(answer).to_contain_text("Not covered")
    expect(answer.locator(".unknown")).to_have_text("It never mentions: France.")
    # the strongest reason first: "France" is a name the guide never uses
    expect(answer.locator(".why")).to_contain_text("Why: it names something the documents never mention;")
    expect(answer.locator(".why")).to_contain_text("nothing in the documents is close to it in meaning")
    links = answer.locator(".sources a")
    assert links.count() >= 1
    heading = links.first.inner_text()
    links.first.click()
    expect(page.locator("#panel-heading")).to_have_text(heading)
    shot(page, "refused")


def test_a_refusal_lists_at_most_eight_unknown_words(page: Page) -> None:
    answer = ask(page, "How do Zorblax Quintar Flumph Vexnor Draxil Plimbo Ortwen Qwixotl Yubbet Grelm compare?")
    expect(answer.locator(".unknown")).to_have_text(
        "It never mentions: Zorblax, Quintar, Flumph, Vexnor, Draxil, Plimbo, Ortwen, Qwixotl, and 2 more."
    )


def test_answer_anyway_asks_again_without_refusing(page: Page) -> None:
    refused = ask(page, "What is the capital of France?")
    expect(refused).to_have_class("answer refused")
    assert "null" not in refused.inner_text()  # the parts a refusal leaves out are not printed
    sent = asks(page)
    refused.get_by_role("button", name="Answer anyway").click()
    again = final(page.locator(".turn").nth(1).locator(".answer"))
    expect(again).to_have_class("answer")  # answered: quoted sentences with their sources
    expect(again.locator(".sources li").first).to_be_visible()
    # ... and marked as forced, not shown as a confident answer
    expect(again.locator(".why")).to_contain_text("Answered anyway The documents may not cover this:")
    assert sent[-1]["question"] == "What is the capital of France?" and sent[-1]["refuse_below"] == 0
    # A refused turn sets no topic for the next question: its history holds the answered turn alone, once.
    ask(page, "What is focal loss?")
    assert [turn["question"] for turn in sent[-1]["history"]] == ["What is the capital of France?"]


def test_search_lists_sections_and_opens_them(page: Page) -> None:
    page.click("#tab-search")
    page.fill("#search-input", "focal loss gamma")
    page.press("#search-input", "Enter")
    results = page.locator(".result")
    expect(results.first).to_contain_text("What is focal loss?")
    assert results.count() == 10
    expect(results.first.locator(".category")).to_have_text("Deep Learning")
    expect(results.first.locator(".where")).to_have_text("interview_questions.txt")
    results.first.locator("button.link").click()
    expect(page.locator("#panel-heading")).to_have_text(FOCAL_HEADING)
    expect(page.locator("#panel mark")).to_contain_text("focusing parameter")
    expect(page.locator("#search-status")).to_be_hidden()  # nothing to say about a question the guide knows
    shot(page, "search")


def test_search_says_what_it_corrected_and_what_no_document_mentions(page: Page) -> None:
    page.click("#tab-search")
    page.fill("#search-input", "attention in transfomers zorblax")
    page.press("#search-input", "Enter")
    expect(page.locator(".result").first).to_be_visible()
    expect(page.locator("#search-status .status-text")).to_have_text(
        "Searched for “transformers” (typed “transfomers”). "
        "The documents never mention: zorblax; these results are only near in meaning."
    )


def test_conversation_is_kept_sent_as_history_and_cleared(page: Page) -> None:
    page.fill("#question", "")
    page.type("#question", "first line")
    page.press("#question", "Shift+Enter")
    page.type("#question", "second line")
    assert page.input_value("#question") == "first line\nsecond line"  # Shift+Enter: a new line, nothing sent
    assert page.locator(".turn").count() == 0

    sent = asks(page)
    ask(page, "What is focal loss?")
    ask(page, FOLLOW_UP)
    assert sent[0]["history"] == []
    assert sent[1]["history"] == [{"question": "What is focal loss?", "sections": [FOCAL]}]

    page.reload()
    expect(page.locator(".turn")).to_have_count(2)  # kept in the browser
    expect(page.locator(".turn .question").first).to_have_text("What is focal loss?")
    page.set_viewport_size({"width": 375, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing wider than a phone
    shot(page, "conversation-phone")

    page.click("#new-conversation")
    expect(page.locator(".turn")).to_have_count(0)
    page.reload()
    expect(page.locator(".turn")).to_have_count(0)
    expect(page.locator("#empty")).to_be_visible()


def test_follow_up_is_answered_from_the_earlier_section(page: Page, server: str) -> None:
    alone = httpx.post(
        f"{server}/search", json={"question": FOLLOW_UP, "k": 1}, headers={"Authorization": f"Bearer {KEY}"}
    )
    assert alone.json()["results"][0]["section_id"] != FOCAL  # without the conversation it goes elsewhere
    ask(page, "What is focal loss?")
    answer = ask(page, FOLLOW_UP)
    shot(page, "follow-up")
    expect(answer.locator(".sources li").first).to_have_attribute("data-section", FOCAL)


def test_busy_server_is_shown_and_retried(page: Page, server: str) -> None:
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if r.url.endswith("/ask") else None)
    holding = threading.Event()

    def hold_the_only_place() -> None:
        """A generated (LLM) answer, streamed: it holds the server's one answer place for seconds."""
        body = {"question": "Why do transformers need positional encodings?", "stream": True, "style": "generate"}
        auth = {"Authorization": f"Bearer {KEY}"}
        with httpx.stream("POST", f"{server}/ask", json=body, headers=auth, timeout=120) as r:
            holding.set()
            for _ in r.iter_bytes():
                pass

    other = threading.Thread(target=hold_the_only_place)
    other.start()
    try:
        assert holding.wait(60)
        page.fill("#question", "What is self-attention?")
        page.press("#question", "Enter")
        status = page.locator("#status")
        expect(status).to_contain_text("Server busy, retrying in")
        shot(page, "busy")
        answer = final(page.locator(".turn .answer").first)
        expect(answer.locator(".cite").first).to_be_visible()
        expect(status).to_be_hidden()
    finally:
        other.join(120)
    assert statuses[0] == 503 and statuses[-1] == 200


def _ask_offline(page: Page) -> Locator:
    """Ask with /ask unreachable; the status line that says so."""
    page.route("**/ask", lambda route: route.abort("internetdisconnected"))
    page.fill("#question", "What is self-attention?")
    page.press("#question", "Enter")
    return page.locator("#status")


def test_lost_connection_offers_a_retry(page: Page) -> None:
    status = _ask_offline(page)
    expect(status).to_contain_text("Cannot reach the server (no response).")
    shot(page, "network-down")
    page.unroute("**/ask")
    status.get_by_role("button", name="Retry").click()
    answer = final(page.locator(".turn .answer").first)
    expect(answer.locator(".cite").first).to_be_visible()


def test_a_question_waiting_for_the_server_can_be_given_up(page: Page) -> None:
    status = _ask_offline(page)
    expect(status).to_contain_text("Cannot reach the server")
    expect(page.locator("#send")).to_be_disabled()
    status.get_by_role("button", name="Cancel").click()
    expect(status).to_be_hidden()
    expect(page.locator(".turn .answer").first).to_have_text("No answer: cancelled, the server could not be reached")
    expect(page.locator("#send")).to_be_enabled()  # another question may be asked


def test_keyboard_focus_on_the_question_box_is_visible(page: Page) -> None:
    # The box itself draws no outline (it sits borderless in the composer): the composer shows the focus.
    outline = "getComputedStyle(document.querySelector('#ask-form')).outlineStyle"
    page.locator("#question").blur()
    assert page.evaluate(outline) == "none"
    page.keyboard.press("Tab")  # focus moves through the page until it reaches the box
    for _ in range(10):
        if page.evaluate("document.activeElement.id") == "question":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "question"
    assert page.evaluate(outline) == "solid"


def test_tabs_follow_the_arrow_keys(page: Page) -> None:
    page.locator("#tab-ask").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#search-view")).to_be_visible()
    expect(page.locator("#tab-search")).to_have_attribute("aria-selected", "true")
    assert page.evaluate("document.activeElement.id") == "tab-search"
    page.keyboard.press("ArrowRight")
    expect(page.locator("#docs-view")).to_be_visible()
    page.keyboard.press("ArrowRight")  # wraps round
    expect(page.locator("#ask-view")).to_be_visible()
    expect(page.locator("#tab-search")).to_have_attribute("tabindex", "-1")  # one tab stop for the list


def test_api_key_is_asked_for_and_sent(keyless_page: Page, server: str) -> None:
    page = keyless_page
    assert httpx.get(f"{server}/search").status_code == 401  # the API needs the key; the page loaded without it
    sent: list[str | None] = []
    page.on("request", lambda r: sent.append(r.headers.get("authorization")) if r.url.endswith("/ask") else None)
    page.fill("#question", "What is self-attention?")
    page.press("#question", "Enter")
    dialog = page.locator("#key-dialog")
    expect(dialog).to_be_visible()
    page.fill("#key-input", "wrong-key")
    page.press("#key-input", "Enter")
    expect(dialog).to_contain_text("did not accept")
    page.fill("#key-input", KEY)
    shot(page, "api-key")
    page.click("#key-save")
    answer = final(page.locator(".turn .answer").first)
    expect(answer.locator(".cite").first).to_be_visible()
    assert sent == [None, "Bearer wrong-key", f"Bearer {KEY}"]
    assert page.evaluate("localStorage.getItem('askdoc.apiKey')") == KEY


@pytest.fixture(scope="module")
def two_collections(
    settings: Settings, retriever: Retriever, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A server over a copy of the session index plus a named collection "notes" holding one small note (made by
    `askdoc index add --collection`, as a user would), without an API key."""
    assert retriever.index.directory is not None
    root = tmp_path_factory.mktemp("collections")
    shutil.copytree(retriever.index.directory, root / "idx")
    onnx = retriever.index.directory.parent / f"{retriever.index.directory.name}.onnx"
    if onnx.is_dir():
        (root / "idx.onnx").symlink_to(onnx)  # the embedder's export, not made again
    note = root / "harbour.md"
    note.write_text(
        "# Harbour office\n\n## Parking\n\nThe harbour office garage has 40 spaces, given out by lottery.\n"
    )
    env = child_env(index_dir=str(root / "idx"), device="cpu") | {"HF_HUB_OFFLINE": "1"}
    add = [sys.executable, "-m", "cli.main", "index", "add", "--collection", "notes", str(note)]
    subprocess.run(add, cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
    with askdoc_api(root / "idx", root / "serve.log", ["-m", "cli.main", "serve"]) as base:
        yield base


@pytest.fixture
def collections_page(browser: Browser, two_collections: str) -> Iterator[Page]:
    """The page on the two-collection server, in a fresh browser profile (no API key needed)."""
    with _opened(browser, two_collections, key=False) as p:
        yield p


def remove_on_page(page: Page, name: str) -> None:
    """Clicks a document's Remove button and accepts the browser's confirmation."""
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Remove {name}").click()


def test_a_collection_is_chosen_on_the_page(collections_page: Page) -> None:
    """With several collections the page offers them; a question goes to the chosen one, its sources open from
    it, and a follow-up carries only the turns asked in the same collection."""
    page = collections_page
    choice = page.locator("#collection")
    expect(choice).to_be_visible()
    assert choice.locator("option").all_inner_texts() == ["default (1 document)", "notes (1 document)"]
    sent = asks(page)
    ask(page, "What is focal loss?")
    choice.select_option("notes")
    answer = ask(page, "How many parking spaces does the garage have?")
    expect(answer).to_contain_text("40 spaces")
    assert sent[-1]["collection"] == "notes" and sent[-1]["history"] == []  # the default's turn is not carried
    answer.locator(".sources button.link").first.click()
    expect(page.locator("#panel-heading")).to_have_text("Parking")
    expect(page.locator("#panel-category")).to_have_text("Harbour office")
    shot(page, "collections")
    page.reload()  # the choice is kept in the browser
    expect(page.locator("#collection")).to_have_value("notes")


def test_documents_are_added_listed_and_removed_on_the_page(collections_page: Page, tmp_path: Path) -> None:
    """The Documents tab: files chosen on the page go to the chosen collection and are indexed, each file's result
    shown (one askdoc cannot read is said so, and the others still go); the list and the collection's count
    follow; a question is answered from the new file; a removed document leaves the list (the collection is as
    it was for the other tests)."""
    tides = tmp_path / "tides.md"
    tides.write_text("# Tide tables\n\n## Spring tides\n\nThe spring tide reaches 4.2 metres at the north quay.\n")
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    # over the 255 bytes a file system allows a name (so made in memory): the server refuses a request holding it
    long_name = {"name": "n" * 253 + ".md", "mimeType": "text/markdown", "buffer": b"# Long\n\nA long name.\n"}
    files = [{"name": p.name, "mimeType": "", "buffer": p.read_bytes()} for p in (tides, photo)] + [long_name]
    page = collections_page
    page.locator("#collection").select_option("notes")
    page.locator("#tab-docs").click()
    expect(page.locator("#docs-title")).to_have_text("1 document in “notes”")
    expect(page.locator(".doc-name")).to_have_text(["harbour.md"])
    page.set_input_files("#files", [str(photo)])  # nothing to send: said so
    expect(page.locator("#job-status .status-text")).to_have_text("Nothing added: 1 skipped.")
    page.set_input_files("#files", files)
    expect(page.locator("#job-status .status-text")).to_have_text("Done: 2 skipped, 1 added.")  # every file counted
    expect(page.locator(".job-file.added")).to_have_text("added tides.md (1 section)")
    expect(page.locator(".job-file.skipped").first).to_contain_text("skipped photo.png: askdoc reads PDF")
    expect(page.locator(".job-file.skipped").nth(1)).to_contain_text("its name is over 255 bytes")
    expect(page.locator("#docs-title")).to_have_text("2 documents in “notes”")
    expect(page.locator("#collection option[value=notes]")).to_have_text("notes (2 documents)")
    shot(page, "documents")
    page.locator("#tab-ask").click()
    expect(ask(page, "How high does the spring tide reach?")).to_contain_text("4.2 metres")
    page.locator("#tab-docs").click()
    remove_on_page(page, "tides.md")
    expect(page.locator("#job-status .status-text")).to_have_text("Removed tides.md; 1 document left.")
    expect(page.locator(".doc-name")).to_have_text(["harbour.md"])
    page.locator("#collection").select_option("default")  # the bundled guide cannot be removed: no button says so
    expect(page.locator(".doc-name")).to_have_text(["interview_questions.txt"])
    expect(page.get_by_role("button", name="Remove interview_questions.txt")).to_have_count(0)


def test_a_collection_is_started_on_the_page(collections_page: Page, tmp_path: Path) -> None:
    """A new collection needs no shell: named on the Documents tab, it is made by its first file, then chosen
    everywhere; its last document's removal takes it away again (the server is as it was for the other tests)."""
    note = tmp_path / "greenhouse.md"
    note.write_text("# Greenhouse\n\n## Watering\n\nThe tomatoes are watered at dawn, twice a week in spring.\n")
    page = collections_page
    page.locator("#tab-docs").click()
    page.fill("#new-collection-name", "greenhouse")
    page.get_by_role("button", name="Start it").click()
    expect(page.locator("#docs-title")).to_have_text("New collection “greenhouse”: add documents to create it.")
    page.set_input_files("#files", [str(note)])
    expect(page.locator("#job-status .status-text")).to_have_text("Done: 1 added.")
    expect(page.locator("#collection")).to_have_value("greenhouse")
    expect(page.locator("#docs-title")).to_have_text("1 document in “greenhouse”")
    page.locator("#tab-ask").click()
    expect(ask(page, "When are the tomatoes watered?")).to_contain_text("at dawn")
    page.locator("#tab-docs").click()
    remove_on_page(page, "greenhouse.md")
    expect(page.locator("#job-status .status-text")).to_contain_text("the collection is gone")
    expect(page.locator("#collection option")).to_have_count(2)
