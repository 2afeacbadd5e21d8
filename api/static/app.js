// askdoc's chat page: plain JavaScript, no build step, no network beyond this server.
// The answer streams from POST /ask (server-sent events read with fetch: EventSource cannot POST); a conversation
// is kept in localStorage and its earlier turns travel with each question as `history`.
"use strict";

const STORE = { turns: "askdoc.turns", key: "askdoc.apiKey", collection: "askdoc.collection" };
const HISTORY_MAX = 10; // earlier turns sent with a question
const TURNS_KEPT = 50; // turns kept in the browser
const SEARCH_K = 10;
const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- small DOM helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

// Which document a source is from, and its PDF page: with several documents, headings alone do not tell.
const where = (document, page) => [document, page == null ? "" : `p. ${page}`].filter(Boolean).join(", ");
// What a source sits under: its heading path without the heading ("Incident Playbook › Payments"), else its
// category; two sections both headed "Symptoms" are told apart by it.
const under = (hit) => (Array.isArray(hit.heading_path) && hit.heading_path.length > 1
  ? hit.heading_path.slice(0, -1).join(" › ") : hit.category || "");
const fmtScore = (score) => (typeof score === "number" ? score.toFixed(2) : "");
// A count in words: "1 document", "3 documents" (a regular plural).
const counted = (n, noun) => `${n} ${noun}${n === 1 ? "" : "s"}`;

// ---------------------------------------------------------------- HTTP

class HttpError extends Error {
  constructor(status, message, retryAfter) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

class NetworkError extends Error {}

function requestHeaders(json = true) {
  const headers = json ? { "Content-Type": "application/json" } : {};
  const key = localStorage.getItem(STORE.key);
  if (key) headers.Authorization = `Bearer ${key}`;
  return headers;
}

async function httpError(response) {
  let message = `the server answered HTTP ${response.status}`;
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) message = body.error.message;
  } catch (_) {
    // not the API's JSON error body: keep the status line
  }
  const seconds = parseInt(response.headers.get("Retry-After") || "", 10);
  return new HttpError(response.status, message, Number.isFinite(seconds) && seconds >= 0 ? seconds : 5);
}

async function request(method, path, body) {
  let response;
  try {
    // Files go as multipart form data, whose boundary the browser writes into the Content-Type itself.
    const form = body instanceof FormData;
    const init = { method, headers: requestHeaders(!form) };
    if (body !== undefined) init.body = form ? body : JSON.stringify(body);
    response = await fetch(path, init);
  } catch (_) {
    throw new NetworkError("no response");
  }
  if (!response.ok) throw await httpError(response);
  return response;
}

// Server-sent events from a fetch() response: yields {name, data} with data parsed from JSON.
async function* sseEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (_) {
      throw new NetworkError("the connection was lost during the answer");
    }
    if (chunk.done) return;
    buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = parseEvent(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (event) yield event;
    }
  }
}

function parseEvent(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  return data.length ? { name, data: JSON.parse(data.join("\n")) } : null;
}

// ---------------------------------------------------------------- status line, key prompt, recovery

class Status {
  constructor(node) {
    this.node = node;
    this.text = el("span", { class: "status-text" });
    this.button = el("button", { type: "button", class: "retry" }, "Retry");
    this.cancel = el("button", { type: "button", class: "retry" }, "Cancel");
    node.replaceChildren(this.text, this.button, this.cancel);
    this.hide();
  }

  show(text, kind = "info") {
    this.node.hidden = false;
    this.node.dataset.kind = kind;
    this.text.textContent = text;
    this.button.hidden = this.cancel.hidden = true;
  }

  hide() {
    this.node.hidden = true;
    this.button.hidden = this.cancel.hidden = true;
  }

  // Shows the message with Retry and Cancel: resolves when Retry is clicked, rejects on Cancel (the question is
  // given up, and the page takes another).
  retry(text) {
    this.show(text, "error");
    this.button.hidden = this.cancel.hidden = false;
    this.button.focus();
    return new Promise((resolve, reject) => {
      this.button.onclick = () => {
        this.hide();
        resolve();
      };
      this.cancel.onclick = () => {
        this.hide();
        reject(new Error("cancelled, the server could not be reached"));
      };
    });
  }

  // "Server busy, retrying in N s" (or why it waits), counting down; resolves when it reaches 0.
  countdown(seconds, why = "Server busy") {
    return new Promise((resolve) => {
      let left = Math.max(1, seconds);
      const tick = () => {
        if (left <= 0) {
          this.hide();
          resolve();
          return;
        }
        this.show(`${why}, retrying in ${left} s…`, "busy");
        left -= 1;
        setTimeout(tick, 1000);
      };
      tick();
    });
  }
}

// Opens the key prompt; resolves once a key is saved, rejects when the prompt is dismissed.
function askForKey(message) {
  const dialog = $("key-dialog");
  const error = $("key-error");
  error.hidden = !message;
  error.textContent = message || "";
  $("key-input").value = "";
  dialog.returnValue = "";
  return new Promise((resolve, reject) => {
    dialog.onclose = () => {
      const key = $("key-input").value.trim();
      if (dialog.returnValue === "save" && key) {
        localStorage.setItem(STORE.key, key);
        showKeyButton();
        loadCollections();  // refused without the key at load
        resolve();
      } else {
        reject(new Error("this server needs an API key"));
      }
    };
    dialog.showModal();
  });
}

// Runs `operation`, and recovers from what a user can wait out or fix: a busy server (wait for Retry-After, then
// again), a missing or wrong API key (ask for it, then again), no connection (a Retry button). Other errors throw.
async function withRecovery(operation, status) {
  for (;;) {
    try {
      const result = await operation();
      status.hide();
      return result;
    } catch (err) {
      if (err instanceof HttpError && err.status === 503) {
        await status.countdown(err.retryAfter, waiting(err.message));
      } else if (err instanceof HttpError && err.status === 401) {
        const had = localStorage.getItem(STORE.key);
        status.show("This server needs an API key.", "info");
        await askForKey(had ? "The server did not accept that key." : "");
        status.hide();
      } else if (err instanceof NetworkError) {
        await status.retry(`Cannot reach the server (${err.message}).`);
      } else {
        status.hide();
        throw err;
      }
    }
  }
}

// Why a 503 waits, in the status line: a server still starting says what it is doing (a first run builds the
// index for a minute or more), any other is busy with other answers.
function waiting(message) {
  return message.startsWith("starting: ") ? `Starting up: ${message.slice(10)}` : "Server busy";
}

// A server on its first run builds its index before it can answer: the page says so at once, not at the first
// question, and offers the collections once there are any. A server that could not start says why.
async function waitUntilReady() {
  for (;;) {
    try {
      await request("GET", "/readyz");
      askStatus.hide();
      return;
    } catch (err) {
      if (!(err instanceof HttpError && err.status === 503)) return;  // asking says the rest, with its recovery
      if (!err.message.startsWith("starting: ")) {
        askStatus.show(err.message, "error");
        return;
      }
      askStatus.show(`${waiting(err.message)}…`, "busy");
      await new Promise((resolve) => setTimeout(resolve, err.retryAfter * 1000));
    }
  }
}

// ---------------------------------------------------------------- the conversation

let turns = loadTurns();
const askStatus = new Status($("status"));
const searchStatus = new Status($("search-status"));
// section id -> the section's JSON, fetched once per question: a document replaced or removed since then is
// fetched again, so a source never shows the text it had before.
const sections = new Map();

function loadTurns() {
  try {
    const stored = JSON.parse(localStorage.getItem(STORE.turns) || "[]");
    return Array.isArray(stored) ? stored : [];
  } catch (_) {
    return [];
  }
}

function saveTurns() {
  turns = turns.slice(-TURNS_KEPT);
  localStorage.setItem(STORE.turns, JSON.stringify(turns));
}

// The collection questions go to: chosen on the page when the server has several (null: the server's default).
let collection = null;
let serverDefault = null;
const sameCollection = (a, b) => (a ?? serverDefault) === (b ?? serverDefault);
const inCollection = (name) => (name ? { collection: name } : {});

// Offers the server's collections when it has more than one; the choice is kept in the browser.
async function loadCollections() {
  let data;
  try {
    data = await (await request("GET", "/collections")).json();
  } catch (_) {
    return;  // no choice offered (an older server, or the API key is not known yet): the default collection
  }
  serverDefault = data.default;
  const usable = data.collections.filter((c) => !c.error);
  const box = $("collection");
  if (usable.length < 2) {
    box.hidden = true;
    collection = null;
    return;
  }
  box.replaceChildren(...usable.map((c) => el("option", { value: c.name }, `${c.name} (${counted(c.documents, "document")})`)));
  const stored = localStorage.getItem(STORE.collection);
  collection = usable.some((c) => c.name === stored) ? stored : data.default;
  box.value = collection;
  box.hidden = false;
}

function chooseCollection(name) {
  collection = name;
  localStorage.setItem(STORE.collection, name);
  sections.clear();
  $("results").replaceChildren();
  closePanel();
  if (!$("docs-view").hidden) loadDocuments();
}

// What a follow-up needs of the earlier turns in the same collection: their questions and the sections their
// answers cited. A refused turn sets no topic ("Can I bring my dog?" must not be what "and in London?" follows);
// a malformed saved one is left out rather than breaking every later question.
function historyOf(earlier, target = collection) {
  return earlier
    .filter((turn) => sameCollection(turn.collection, target))
    .filter((turn) => turn.answer && !turn.answer.refused && Array.isArray(turn.answer.citations))
    .slice(-HISTORY_MAX)
    .map((turn) => ({
      question: turn.question,
      sections: [...new Set(turn.answer.citations.map((c) => c.section_id))],
    }));
}

// The part of the answer JSON the page shows again after a reload.
function kept(answer) {
  const { question, answer: text, citations, sentences, refused, nearest, mode, refusal } = answer;
  return { question, answer: text, citations, sentences, refused, nearest, mode, refusal, collection: answer.collection };
}

// `options`: extra fields of the /ask request ({ refuse_below: 0 } answers what would be refused; `collection`:
// another than the chosen one); `history`: the turns it follows (by default all of them, in its collection);
// `overruled`: the refusal threshold an "Answer anyway" overrides, kept with the answer for its badge.
async function ask(question, options = {}, history = null, overruled = undefined) {
  sections.clear();
  const target = options.collection ?? collection;
  options = { ...options, ...inCollection(target) };
  history = history ?? historyOf(turns, target);
  const turn = { question, answer: null, collection: target };
  turns.push(turn);
  const view = new TurnView(turn);
  view.scroll();
  setAsking(true);
  try {
    const answer = await withRecovery(() => streamAnswer(question, history, view, options), askStatus);
    turn.answer = { ...kept(answer), overruled };
    view.finish(turn.answer);
  } catch (err) {
    turn.error = err.message;
    view.fail(err.message);
  } finally {
    saveTurns();
    setAsking(false);
  }
}

async function streamAnswer(question, history, view, options) {
  view.reset();
  const response = await request("POST", "/ask", { question, stream: true, history, ...options });
  for await (const event of sseEvents(response)) {
    if (event.name === "token") view.addSentence(event.data.text);
    else if (event.name === "final") return event.data;
    else if (event.name === "error") throw new Error(event.data.message);
  }
  throw new NetworkError("the answer stopped before it was complete");
}

function setAsking(on) {
  $("send").disabled = on;
  $("new-conversation").disabled = on;
  document.body.classList.toggle("asking", on);
  if (!on) $("question").focus();
}

// ---------------------------------------------------------------- one turn on screen

class TurnView {
  constructor(turn) {
    $("empty").hidden = true;
    this.body = el("div", { class: "answer" });
    this.node = el(
      "article",
      { class: "turn" },
      el("div", { class: "question" }, el("p", {}, turn.question)),
      this.body,
    );
    $("turns").append(this.node);
    this.reset();
  }

  reset() {
    this.text = el("p", { class: "answer-text" });
    this.body.replaceChildren(this.text, el("div", { class: "typing", "aria-label": "answering" }, el("span"),
      el("span"), el("span")));
    this.body.className = "answer pending";
  }

  // A streamed piece: "Sentence. [n]" (with a leading space after the first).
  addSentence(piece) {
    const match = piece.trim().match(/^([\s\S]*?)\s*\[(\d+)\]$/);
    const text = match ? match[1] : piece.trim();
    const chips = match ? [el("span", { class: "cite pending" }, `[${match[2]}]`)] : [];
    this.text.append(el("span", { class: "sentence" }, text, " ", ...chips), " ");
    this.scroll();
  }

  finish(answer) {
    this.body.className = answer.refused ? "answer refused" : "answer";
    this.body.replaceChildren(...(answer.refused ? refusedParts(answer) : answeredParts(answer)));
    fillCategories(answer, this.body);
    this.scroll();
  }

  // What was already shown stays (each sentence was verified); the error says why the rest is missing.
  fail(message) {
    const shown = this.text && this.text.childNodes.length ? [this.text] : [];
    this.body.className = "answer failed";
    this.body.replaceChildren(...shown, el("p", { class: "error" },
      shown.length ? `The answer stopped: ${message}` : `No answer: ${message}`));
  }

  scroll() {
    this.node.scrollIntoView({ block: "end" });
  }
}

function answeredParts(answer) {
  const byN = new Map(answer.citations.map((c) => [c.n, c]));
  const text = el("p", { class: "answer-text" });
  const firstUse = new Map(); // n -> the first answer sentence citing it: what its source link highlights
  for (const sentence of answer.sentences) {
    const chips = sentence.sources.filter((n) => byN.has(n)).map((n) => {
      if (!firstUse.has(n)) firstUse.set(n, sentence.text);
      const heading = byN.get(n).heading;
      const chip = el("button", { type: "button", class: "cite", title: heading, "aria-label": `Source ${n}: ${heading}` },
        `[${n}]`);
      chip.addEventListener("click",
        () => openSection(byN.get(n).section_id, sentence.text, true, chip, answer.collection));
      return chip;
    });
    text.append(el("span", { class: "sentence" }, sentence.text, " ", ...chips), " ");
  }
  const items = answer.citations.map((c) =>
    el("li", { "data-section": c.section_id },
      el("span", { class: "n" }, `[${c.n}]`),
      el("button", { type: "button", class: "link",
        onclick: () => openSection(c.section_id, firstUse.get(c.n) || c.snippet, true, null, answer.collection) },
        c.heading),
      el("span", { class: "meta" }, el("span", { class: "category" }, under(c)),
        el("span", { class: "where" }, where(c.document, c.page)),
        el("span", { class: "score", title: "retrieval score" }, fmtScore(c.score)))));
  const forced = answeredAnyway(answer)
    ? el("p", { class: "why" }, el("span", { class: "badge" }, "Answered anyway"),
      ` The documents may not cover this: ${Math.round(answer.refusal.covered * 100)} % sure they do.`)
    : null;
  return [forced, text, el("div", { class: "sources" }, el("h3", {}, "Sources"), el("ol", {}, ...items))]
    .filter(Boolean);
}

// An answer given with refusal switched off ("Answer anyway") that the refusal model would have refused at the
// threshold that refused the question (`overruled`: the server's, which may not be 0.5; turns saved before it
// was kept assume 0.5): shown as such, not as a confident answer.
function answeredAnyway(answer) {
  const r = answer.refusal || {};
  return r.refuse_below === 0 && r.covered !== undefined && r.covered < (answer.overruled ?? 0.5);
}

function refusedParts(answer) {
  const links = (answer.nearest || []).map((hit) =>
    el("li", {},
      el("a", { href: `#section/${encodeURIComponent(hit.section_id)}`, class: "link",
        onclick: (e) => { e.preventDefault(); openSection(hit.section_id, null, false, null, answer.collection); } },
        hit.heading),
      el("span", { class: "meta" }, el("span", { class: "category" }, under(hit)),
        el("span", { class: "score" }, fmtScore(hit.score)))));
  // The question's words the collection never uses: what to rephrase, or which document to add.
  const unknown = answer.refusal?.unknown_words || [];
  const why = answer.refusal?.reasons || [];
  return [  // el() skips the parts left out, but replaceChildren() would print them as "null"
    el("p", {}, el("span", { class: "badge" }, "Not covered"), " ", answer.answer),
    why.length ? el("p", { class: "why" }, `Why: ${why.join("; ")}.`) : null,
    unknown.length ? el("p", { class: "unknown" }, `It never mentions: ${listed(unknown)}.`) : null,
    links.length ? el("div", { class: "sources" }, el("h3", {}, "Nearest sections"), el("ul", {}, ...links)) : null,
    refusedByModel(answer) ? answerAnyway(answer) : null,
  ].filter(Boolean);
}

// The refusal model can be wrong (a few in a hundred answerable questions): the way past it, as a new turn that
// follows the same earlier turns as the refused one did.
function answerAnyway(answer) {
  return el("button", { class: "ghost answer-anyway", type: "button", onclick: (e) => {
    if ($("send").disabled) return;  // another answer is on its way (the button is dimmed meanwhile)
    e.currentTarget.disabled = true;
    const at = turns.findIndex((t) => t.answer === answer);
    const target = at < 0 ? collection : turns[at].collection;
    ask(answer.question, { refuse_below: 0, ...inCollection(target) },
      historyOf(at < 0 ? turns : turns.slice(0, at), target), answer.refusal.refuse_below);
  } }, "Answer anyway");
}

function refusedByModel(answer) {
  const r = answer.refusal || {};
  return r.covered !== undefined && r.covered < (r.refuse_below ?? 0.5);
}

// Citations carry no category: it comes from the section, fetched once and kept with the turn.
async function fillCategories(answer, node) {
  for (const c of answer.citations) {
    if (c.category) continue;
    try {
      c.category = (await fetchSection(c.section_id, answer.collection)).category;
    } catch (_) {
      continue; // the list just shows no category
    }
    const slot = node.querySelector(`li[data-section="${CSS.escape(c.section_id)}"] .category`);
    if (slot) slot.textContent = under(c);  // the heading path when there is one, as first shown
  }
  saveTurns();
}

// ---------------------------------------------------------------- the section panel

async function fetchSection(id, target = collection) {
  const key = `${target ?? ""}/${id}`;
  if (!sections.has(key)) {
    const query = target ? `?collection=${encodeURIComponent(target)}` : "";
    const response = await request("GET", `/sections/${encodeURIComponent(id)}${query}`);
    sections.set(key, await response.json());
  }
  return sections.get(key);
}

// Opens a section beside the answer; `sentence` (when given) is highlighted: found as it is, or (`exact` false,
// or not found) the section's sentence sharing most words with it. `chip`: the [n] clicked, marked active.
async function openSection(id, sentence, exact, chip = null, target = collection) {
  const status = $("search-view").hidden ? askStatus : searchStatus;
  let section;
  try {
    section = await withRecovery(() => fetchSection(id, target), status);
  } catch (err) {
    // A 404: the section's document (or its whole collection) was removed since the answer; said plainly, not in
    // the API's words for an HTTP client
    const gone = err instanceof HttpError && err.status === 404;
    status.show(gone ? "This source is gone: its document or collection was removed since this answer."
      : `Cannot open the section: ${err.message}`, "error");
    return;
  }
  renderSection(section);
  for (const active of document.querySelectorAll(".cite.active")) active.classList.remove("active");
  if (chip) chip.classList.add("active");
  const mark = sentence ? highlight($("panel-body"), sentence, exact) : null;
  (mark || $("panel-heading")).scrollIntoView({ block: "center" });
}

function renderSection(section) {
  $("panel-heading").textContent = section.heading;
  $("panel-category").textContent = under(section);
  $("panel-where").textContent = section.page == null
    ? `${section.source}, lines ${section.start_line}–${section.end_line}`
    : where(section.source, section.page);
  const lines = section.text.split("\n").filter((line) => line.trim());
  $("panel-body").replaceChildren(...lines.map((line) => {
    const bullet = /^\s*-\s/.test(line);
    return el("p", { class: bullet ? "line bullet" : "line" }, line.replace(/^\s*-\s*/, ""));
  }));
  $("panel").hidden = false;
  document.body.classList.add("panel-open");
}

function closePanel() {
  $("panel").hidden = true;
  for (const active of document.querySelectorAll(".cite.active")) active.classList.remove("active");
  document.body.classList.remove("panel-open");
}

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const words = (text) => new Set((text.toLowerCase().match(/[a-z0-9]{3,}/g) || []));

// Where `sentence` is in the section's lines: {line, start, end}, or null.
function locate(lines, sentence, exact) {
  if (exact) {
    const pattern = new RegExp(escapeRegExp(sentence.trim()).replace(/\s+/g, "\\s+"));
    for (let i = 0; i < lines.length; i += 1) {
      const found = pattern.exec(lines[i]);
      if (found) return { line: i, start: found.index, end: found.index + found[0].length };
    }
  }
  const wanted = words(sentence);
  let best = null;
  lines.forEach((line, i) => {
    for (const part of line.matchAll(/[^.!?]+(?:[.!?]+|$)/g)) {
      const shared = [...words(part[0])].filter((w) => wanted.has(w)).length;
      if (shared > 0 && (!best || shared > best.shared)) {
        const lead = part[0].length - part[0].trimStart().length;
        best = { line: i, start: part.index + lead, end: part.index + part[0].trimEnd().length, shared };
      }
    }
  });
  return best;
}

function highlight(body, sentence, exact) {
  const nodes = [...body.querySelectorAll(".line")];
  const at = locate(nodes.map((n) => n.textContent), sentence, exact);
  if (!at) return null;
  const text = nodes[at.line].textContent;
  const mark = el("mark", {}, text.slice(at.start, at.end));
  nodes[at.line].replaceChildren(text.slice(0, at.start), mark, text.slice(at.end));
  return mark;
}

// ---------------------------------------------------------------- search

// The opening sentence of a hit's passage (the passage that matched the query): what opening the hit highlights.
function lead(snippet) {
  const line = snippet.split("\n").map((l) => l.replace(/^\s*-\s*/, "").trim()).find((l) => l.length > 20) || "";
  const sentence = line.match(/^[\s\S]*?[.!?](?=\s|$)/);
  return sentence ? sentence[0] : line;
}

// What the results cannot show: the typos searched as the collection's words, and the words no document uses
// (the results are then only near in meaning), as the terminal says them.
function searchNotes(data) {
  const fixed = Object.entries(data.corrections || {}).map(([typed, word]) => `“${word}” (typed “${typed}”)`);
  const unknown = data.unknown_words || [];
  return [
    fixed.length ? `Searched for ${fixed.join(", ")}.` : "",
    unknown.length ? `The documents never mention: ${listed(unknown)}; these results are only near in meaning.` : "",
  ].filter(Boolean);
}

// The first eight words and a count of the rest: a pasted paragraph can hold dozens the collection lacks (as the
// terminal's cli/common.py listed()).
function listed(words, most = 8) {
  const more = words.length > most ? `, and ${words.length - most} more` : "";
  return words.slice(0, most).join(", ") + more;
}

async function search(query) {
  sections.clear();
  const list = $("results");
  list.replaceChildren();
  searchStatus.show("Searching…");
  let data;
  try {
    const body = { question: query, k: SEARCH_K, ...inCollection(collection) };
    const response = await withRecovery(() => request("POST", "/search", body), searchStatus);
    data = await response.json();
  } catch (err) {
    searchStatus.show(`No results: ${err.message}`, "error");
    return;
  }
  const notes = searchNotes(data);
  if (!data.results.length) notes.push("No sections found.");
  if (notes.length) searchStatus.show(notes.join(" "));
  list.replaceChildren(...data.results.map((hit) =>
    el("li", { class: "result" },
      el("div", { class: "result-head" },
        el("span", { class: "n" }, `${hit.rank}.`),
        el("button", { type: "button", class: "link",
          onclick: () => openSection(hit.section_id, lead(hit.snippet), true, null, data.collection) }, hit.heading)),
      el("div", { class: "meta" }, el("span", { class: "category" }, under(hit)),
        el("span", { class: "where" }, where(hit.document, hit.page)),
        el("span", { class: "score" }, fmtScore(hit.score))),
      el("p", { class: "snippet" }, hit.snippet.replace(/\s*\n-?\s*/g, " ").slice(0, 260)))));
}

// ---------------------------------------------------------------- wiring

function showView(name) {
  for (const tab of document.querySelectorAll(".tabs [role=tab]")) {
    tab.setAttribute("aria-selected", String(tab.dataset.view === name));
    tab.tabIndex = tab.dataset.view === name ? 0 : -1;  // one tab stop for the tab list; arrows move within it
  }
  for (const view of ["ask", "search", "docs"]) $(`${view}-view`).hidden = name !== view;
  $("new-conversation").hidden = name !== "ask";
  if (name === "docs") loadDocuments();  // documents.js: the list as it is now
  ({ ask: $("question"), search: $("search-input"), docs: $("files") })[name].focus();
}

function newConversation() {
  turns = [];
  saveTurns();
  for (const node of document.querySelectorAll("#turns .turn")) node.remove();
  $("empty").hidden = false;
  askStatus.hide();
  closePanel();
  $("question").focus();
}

function showKeyButton() {
  $("key-button").hidden = !localStorage.getItem(STORE.key);
}

function submitQuestion() {
  const box = $("question");
  const question = box.value.trim();
  if (!question || $("send").disabled) return;
  box.value = "";
  fitHeight(box);
  ask(question);
}

function fitHeight(box) {
  box.style.height = "auto";
  box.style.height = `${Math.min(box.scrollHeight, 200)}px`;
}

function wire() {
  const box = $("question");
  $("ask-form").addEventListener("submit", (e) => { e.preventDefault(); submitQuestion(); });
  box.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submitQuestion();
    }
  });
  box.addEventListener("input", () => fitHeight(box));
  $("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const query = $("search-input").value.trim();
    if (query) search(query);
  });
  const tabs = [...document.querySelectorAll(".tabs [role=tab]")];
  for (const [i, tab] of tabs.entries()) {
    tab.addEventListener("click", () => showView(tab.dataset.view));
    tab.addEventListener("keydown", (e) => {  // the WAI-ARIA tabs pattern: arrows, Home and End
      const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
      if (to === undefined) return;
      e.preventDefault();
      const next = tabs[(to + tabs.length) % tabs.length];
      showView(next.dataset.view);
      next.focus();
    });
  }
  $("new-conversation").addEventListener("click", newConversation);
  $("collection").addEventListener("change", (e) => chooseCollection(e.target.value));
  $("panel-close").addEventListener("click", closePanel);
  $("key-forget").addEventListener("click", () => {
    localStorage.removeItem(STORE.key);
    showKeyButton();
    $("key-dialog").close("forget");
  });
  $("key-button").addEventListener("click", () => askForKey("").catch(() => {}));
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !$("panel").hidden) closePanel(); });
}

function restore() {
  for (const turn of turns) {
    const view = new TurnView(turn);
    try {
      if (turn.answer) view.finish(turn.answer);
      else view.fail(turn.error || "interrupted");
    } catch (_) {  // a saved turn this page cannot read (edited, or from another version): shown as lost
      view.fail("this saved answer cannot be shown");
    }
  }
}

wire();
restore();
waitUntilReady().then(loadCollections);
showKeyButton();
