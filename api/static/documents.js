// The Documents tab: the chosen collection's documents; files added (POST /documents, then its job followed
// until it ends, with each file's result) and a document removed (DELETE /documents/{id}). Uses app.js's
// helpers (el, counted, request, withRecovery, Status) and its chosen `collection`.
"use strict";

const DOC_SUFFIXES = [".pdf", ".html", ".htm", ".xhtml", ".md", ".markdown", ".txt", ".text"];
const JOB_POLL_MS = 1000;
const docsStatus = new Status($("docs-status"));  // listing the documents
const jobStatus = new Status($("job-status"));  // adding and removing them
// A collection started on the page exists once its first document is added: until then files go there.
let startedCollection = null;
const target = () => startedCollection ?? collection;
const inChosen = () => (target() ? `?collection=${encodeURIComponent(target())}` : "");
const MAX_NAME_BYTES = 255;  // as the server: a longer name is refused, and with it the whole request
const readable = (name) => DOC_SUFFIXES.some((suffix) => name.toLowerCase().endsWith(suffix));
// Why a chosen file is not sent ("" when it is): each file judged alone, so one bad name leaves the rest added.
function unsendable(name) {
  if (!readable(name)) return "askdoc reads PDF, HTML, Markdown and text files";
  if (new TextEncoder().encode(name).length > MAX_NAME_BYTES) return `its name is over ${MAX_NAME_BYTES} bytes`;
  return name.startsWith(".") ? "a hidden file (its name starts with a dot)" : "";
}

async function loadDocuments() {
  if (startedCollection) {  // nothing to list yet
    $("docs").replaceChildren();
    $("docs-title").textContent = `New collection “${startedCollection}”: add documents to create it.`;
    return;
  }
  let data;
  try {
    data = await (await withRecovery(() => request("GET", `/documents${inChosen()}`), docsStatus)).json();
  } catch (err) {
    $("docs").replaceChildren();
    $("docs-title").textContent = "";
    docsStatus.show(`The documents cannot be listed: ${err.message}`, "error");
    return;
  }
  $("docs-title").textContent = `${counted(data.documents.length, "document")} in “${data.collection}”`;
  $("docs").replaceChildren(...data.documents.map(documentItem));
}

function documentItem(doc) {
  // A file gone from the disk is still answered from its indexed copy: said, as `askdoc index list` says it.
  const gone = doc.file_exists ? null : el("span", { class: "gone" }, "file gone, answered from its indexed copy");
  return el("li", { class: "doc" },
    el("span", { class: "doc-name" }, doc.name),
    el("span", { class: "meta" }, counted(doc.sections, "section"), gone),
    // The bundled guide cannot be removed (the server says so): no button that leads to that dead end.
    doc.default ? null : el("button", { type: "button", class: "ghost", "aria-label": `Remove ${doc.name}`,
      onclick: () => removeDocument(doc) }, "Remove"));
}

async function addFiles(files) {
  const chosen = [...files];
  if (!chosen.length) return;  // text or a link dropped: no file to add
  const judged = chosen.map((file) => ({ file, reason: unsendable(file.name) }));
  const usable = judged.filter((j) => !j.reason).map((j) => j.file);
  const refused = judged.filter((j) => j.reason)
    .map((j) => ({ path: j.file.name, status: "skipped", reason: j.reason }));
  showFiles(refused);
  if (!usable.length) {
    jobStatus.show(`Nothing added: ${summarised(refused)}.`, "error");
    return;
  }
  const form = new FormData();
  for (const file of usable) form.append("files", file, file.name);
  jobStatus.show(`Uploading ${counted(usable.length, "file")}…`);
  try {
    let job = await (await withRecovery(() => request("POST", `/documents${inChosen()}`, form), jobStatus)).json();
    while (job.state !== "done" && job.state !== "failed") {
      jobStatus.show(`Indexing: ${job.done} of ${counted(job.total, "file")} read…`);
      await new Promise((resolve) => setTimeout(resolve, JOB_POLL_MS));
      job = await (await withRecovery(() => request("GET", `/documents/jobs/${job.id}`), jobStatus)).json();
    }
    const all = [...refused, ...job.files];
    showFiles(all);
    if (startedCollection && all.some((r) => r.status === "added")) {  // it exists now: choose it everywhere
      localStorage.setItem(STORE.collection, startedCollection);
      startedCollection = null;
    }
    jobStatus.show(job.error ? `Failed: ${job.error}` : `Done: ${summarised(all)}.`, job.error ? "error" : "info");
  } catch (err) {
    jobStatus.show(`Not added: ${err.message}`, "error");
  }
  sections.clear();  // a replaced document's sections are read again
  await loadCollections();  // a new collection, new counts
  await loadDocuments();
}

// "2 added, 1 skipped": the files the page kept back counted with those the server read.
function summarised(results) {
  const counts = new Map();
  for (const r of results) counts.set(r.status, (counts.get(r.status) || 0) + 1);
  return [...counts].map(([status, n]) => `${n} ${status}`).join(", ");
}

// Each file's result: "added notes.md (3 sections)", "skipped photo.png: a PNG image, not a document".
function showFiles(results) {
  $("job-files").replaceChildren(...results.map((r) => {
    const name = r.path.split(/[\\/]/).pop();
    const detail = r.status === "skipped" ? `: ${r.reason}` : r.sections ? ` (${counted(r.sections, "section")})` : "";
    return el("li", { class: `job-file ${r.status}` }, el("strong", {}, r.status), ` ${name}${detail}`);
  }));
}

async function removeDocument(doc) {
  const last = $("docs").children.length === 1;  // a named collection goes with its last document
  const gone = last && collection ? ` The collection “${collection}” goes with it.` : "";
  if (!window.confirm(`Remove ${doc.name}? Questions are no longer answered from it.${gone}`)) return;
  try {
    const path = `/documents/${encodeURIComponent(doc.id)}${inChosen()}`;
    const data = await (await withRecovery(() => request("DELETE", path), jobStatus)).json();
    jobStatus.show(data.documents
      ? `Removed ${doc.name}; ${counted(data.documents, "document")} left.`
      : `Removed ${doc.name}, the last document of “${data.collection}”: the collection is gone.`);
  } catch (err) {
    jobStatus.show(`${doc.name} was not removed: ${err.message}`, "error");
    return;
  }
  sections.clear();
  $("job-files").replaceChildren();
  await loadCollections();  // a named collection's last document takes the collection with it
  await loadDocuments();
}

// Starts a collection by name: the files added next go there (and create it). A name the server already has
// only switches to that collection.
function startCollection(name) {
  const box = $("collection");
  if (name === serverDefault || [...box.options].some((o) => o.value === name)) {
    startedCollection = null;
    box.value = name;
    chooseCollection(name);
  } else {
    startedCollection = name;
  }
  $("job-files").replaceChildren();
  jobStatus.hide();
  loadDocuments();
  $("files").focus();
}

function wireDocuments() {
  $("new-collection-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const name = $("new-collection-name");
    startCollection(name.value.trim());
    name.value = "";
  });
  $("collection").addEventListener("change", () => {
    if (!startedCollection) return;
    startedCollection = null;  // another collection chosen: the one started is given up
    loadDocuments();
  });
  const input = $("files");
  input.addEventListener("change", () => {
    addFiles(input.files).finally(() => { input.value = ""; });
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    addFiles(e.dataTransfer.files);
  });
}

wireDocuments();
