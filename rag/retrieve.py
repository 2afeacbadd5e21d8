"""First-stage retrieval: dense (FAISS), lexical (BM25) and their fusion, grouped from passages to sections."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from corpus.errors import AskdocError, InvalidInputError
from corpus.ids import DEFAULT_COLLECTION
from corpus.text import ensure_text
from index import store
from index.backend import SearchBackend, open_backend
from index.collection import Collection, Notify, current_sha256, quiet
from index.collections import current_dir, not_found
from index.embed import Embedder
from index.embedders import onnx_dir
from index.spelling import Speller, notable
from index.store import StoredIndex
from rag.collection import open_collection
from rag.config import MODES, Settings, check_choice, check_k
from rag.followup import boost
from rag.fusion import reciprocal_rank_fusion, weighted_fusion
from rag.hits import SearchResult, SectionHit, elapsed_ms
from rag.rerank.stage import RerankStage


def clean_question(question: str, settings: Settings) -> str:
    q = " ".join(question.split())
    if not q:
        raise InvalidInputError("the question is empty")
    try:
        ensure_text(q)
    except ValueError:
        raise InvalidInputError("the question contains invalid characters (not UTF-8 text)") from None
    if len(q) > settings.max_question_chars:
        raise InvalidInputError(f"the question is {len(q)} characters long; the limit is {settings.max_question_chars}")
    return q


def embedder_for(settings: Settings, notify: Notify | None = None) -> Embedder:
    """The embedder the settings ask for (not loaded yet); its onnx export lives beside the index."""
    return Embedder(
        settings.embed_model,
        settings.device,
        backend=settings.embed_backend,
        cache_dir=onnx_dir(settings.index_dir),
        notify=notify,
    )


class Retriever:
    """Holds the embedder and the index; load once with warm_up(), then search() many times."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        index: StoredIndex | None = None,
        notify: Notify | None = None,
        progress: bool = True,
    ) -> None:
        """`embedder` and `index`: already loaded ones to share (else loaded from the settings on first need)."""
        self.settings = settings
        self._notify = notify or quiet
        self.embedder = embedder if embedder is not None else embedder_for(settings, self._notify)
        self._progress = progress
        self._index = index
        self._speller: tuple[StoredIndex, Speller] | None = None  # built for one index: a swap rebuilds it
        # Where each index is searched: the current one and the one before (searches pinned to it still finish).
        self._backends: list[tuple[StoredIndex, SearchBackend]] = []
        self._backends_lock = threading.Lock()
        self._follow_lock = threading.Lock()
        self._edits_tried: tuple[tuple[str, str | None], ...] = ()  # the edits last re-read (follow_files)
        self.rerank_stage = RerankStage(settings, self._notify)

    def warm_up(self) -> None:
        self.backend(self._load_index())
        if self.settings.mode in ("rerank", "auto"):
            self.rerank_stage.ready(self.index, asked=self.settings.mode == "rerank")

    def _load_index(self) -> StoredIndex:
        if self._index is None:
            collection = open_collection(self.settings, self.embedder, self._notify, self._progress)
            collection.require()  # an unknown collection is said before any model loads
            self.embedder.warm_up()
            self._index = collection.open()
        return self._index

    @property
    def index(self) -> StoredIndex:
        return self._load_index()

    def use_index(self, index: StoredIndex) -> None:
        """Serve from `index` from now on (a collection changed while the server runs: the new one, swapped in)."""
        if self._index is not None:
            self.backend(index)  # a Milvus collection is refilled here, by the one who swaps, not by a search
            # The reranker is looked for again: one trained for the old collection no longer fits (artifacts), and
            # one trained since the server started is picked up.
            self.rerank_stage = RerankStage(self.settings, self._notify)
        self._index = index

    def follow_disk(self) -> bool:
        """Swap in the index on disk when another process has replaced the one served (another worker's upload,
        `askdoc index add` while the server runs); True when it did. One stat per call; one caller loads while
        the others go on with the index they have. An index that moved is followed (the default collection, into
        <folder>/default/, when a second one appears). A named collection that is gone (its last document removed)
        raises CollectionNotFoundError and is forgotten: made again, it loads afresh at its next use."""
        index = self._index
        if index is None or index.directory is None:
            return False
        directory = index.directory
        now = store.stamp(directory)
        if now is None:
            found = current_dir(index.directory)
            if found is None:
                if self.settings.collection == DEFAULT_COLLECTION:
                    return False  # its folder was deleted: the guide is still served, as before
                self._index = None
                raise not_found(self.settings.collection)
            directory, now = found, store.stamp(found)
            if now is not None and now == index.stamp:
                index.directory = directory  # the same files, moved (a rename keeps the manifest's stamp)
        if now is None or now == index.stamp or not self._follow_lock.acquire(blocking=False):
            return False
        try:
            if self._index is not index:  # swapped while this caller waited
                return False
            try:
                self.use_index(store.load(directory))
            except AskdocError as exc:
                index.stamp = now  # said once, not at every request
                self._notify(
                    f"the index at {index.directory} changed but does not load ({exc}); serving the previous one"
                )
                return False
            return True
        finally:
            self._follow_lock.release()

    def follow_files(self) -> bool:
        """Re-read the added documents edited on disk since they were indexed, as `askdoc ask` does when it opens
        the collection, so that a server does not answer from a file's old text; True when the index changed. Each
        edit is tried once (a file left empty keeps its indexed version, said once, not at every request); one
        caller re-reads while the others go on with the index they have."""
        index = self._index
        if index is None:
            return False
        changed = Collection.changed_documents(index.manifest)  # a stat per document; hashed only when it changed
        edits = tuple(sorted((r.path, current_sha256(Path(r.path))) for r in changed))
        if not changed or edits == self._edits_tried or not self._follow_lock.acquire(blocking=False):
            return False
        try:
            self._edits_tried = edits
            new = open_collection(self.settings, self.embedder, self._notify, progress=False).open()
            if new.manifest.to_dict() == index.manifest.to_dict():
                return False
            self.use_index(new)
            return True
        finally:
            self._follow_lock.release()

    def backend(self, index: StoredIndex) -> SearchBackend:
        """Where `index` is searched (settings.index_backend); opened once per index (a Milvus one is synced)."""
        with self._backends_lock:
            for known, backend in self._backends:
                if known is index:
                    return backend
            previous = self._backends[-1][1] if self._backends else None
            s = self.settings
            backend = open_backend(s.index_backend, index, s.milvus_uri, keep=previous)
            self._backends = [*self._backends[-1:], (index, backend)]
            return backend

    def prepare(self, question: str) -> tuple[str, dict[str, str]]:
        """The question as it is searched: cleaned (a bad one raises InvalidInputError) and, unless switched off,
        with misspelt words corrected to the collection's; also the corrections made."""
        query = clean_question(question, self.settings)
        if not self.settings.spell_correct:
            return query, {}
        index = self.index
        if self._speller is None or self._speller[0] is not index:
            self._speller = (index, Speller(p.indexed_text for p in index.passages))
        return self._speller[1].correct(query)

    def passage_ranking(
        self,
        query: str,
        mode: str,
        depth: int,
        timings: dict[str, float],
        vector: np.ndarray | None = None,
        index: StoredIndex | None = None,
        leaders: dict[str, tuple[str, float]] | None = None,
    ) -> list[tuple[int, float]]:
        """Passage rows with scores, best first, for one first-stage mode (`vector`: the query, embedded; `index`:
        the one a whole search reads, default the current one; `leaders`: filled with each retriever's top section
        and score)."""
        index = index or self.index
        rankings: list[list[tuple[int, float]]] = []
        if mode in ("dense", "hybrid"):
            t = time.perf_counter()
            vec = self.embedder.embed([query])[0] if vector is None else vector
            timings["embed"] = timings.get("embed", 0.0) + elapsed_ms(t)
            t = time.perf_counter()
            ids, scores = self.backend(index).dense(vec, depth)
            rankings.append(list(zip(ids.tolist(), scores.tolist(), strict=True)))
            timings["dense"] = elapsed_ms(t)
        if mode in ("bm25", "hybrid"):
            t = time.perf_counter()
            ids, scores = self.backend(index).lexical(query, depth)
            rankings.append(list(zip(ids.tolist(), scores.tolist(), strict=True)))
            timings["bm25"] = elapsed_ms(t)
        if leaders is not None:
            names = ["dense", "bm25"] if mode == "hybrid" else [mode]
            for name, ranking in zip(names, rankings, strict=True):
                leaders[name] = (index.passages[ranking[0][0]].section_id, ranking[0][1]) if ranking else ("", 0.0)
        if len(rankings) == 1:
            return rankings[0]
        fused = self._fuse(rankings)
        return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))

    def _fuse(self, rankings: list[list[tuple[int, float]]]) -> dict[int, float]:
        # rankings are [dense, bm25] in that order.
        if self.settings.fusion == "weighted":
            w = self.settings.dense_weight
            return weighted_fusion(rankings, [w, 1.0 - w])
        return reciprocal_rank_fusion(rankings, self.settings.rrf_k)

    def group(self, ranking: list[tuple[int, float]], k: int, index: StoredIndex | None = None) -> list[SectionHit]:
        """Best passage per section wins; sections keep the order of their best passage."""
        index = index or self.index
        hits: list[SectionHit] = []
        seen: set[str] = set()
        for row, score in ranking:
            passage = index.passages[row]
            if passage.section_id in seen:
                continue
            seen.add(passage.section_id)
            section = index.sections[passage.section_id]
            hits.append(
                SectionHit(
                    rank=len(hits) + 1,
                    section_id=section.id,
                    heading=section.heading,
                    category=section.category,
                    score=float(score),
                    snippet=passage.text or section.heading,
                    passage_id=passage.id,
                    document=section.source,
                    heading_path=list(section.heading_path),
                    page=section.page,
                )
            )
            if len(hits) == k:
                break
        return hits

    def search(
        self,
        question: str,
        k: int | None = None,
        mode: str | None = None,
        vector: np.ndarray | None = None,
        cleaned: bool = False,
        prior: dict[str, float] | None = None,
        index: StoredIndex | None = None,
    ) -> SearchResult:
        """`vector` and `cleaned`: the question already embedded, already prepared (the answer pipeline does both
        once for the whole answer). `prior`: section id -> bonus, a share of the top score (rag.followup).
        `index`: the one to read (an answer pins one for all its steps); default the current one."""
        query, corrections = (question, {}) if cleaned else self.prepare(question)
        k = self.settings.k if k is None else k
        mode = mode or self.settings.mode
        check_choice("mode", mode, MODES)
        check_k(k)
        timings: dict[str, float] = {}
        t = time.perf_counter()
        # One index for the whole search: a collection swapped in meanwhile (use_index) must not mix row numbers.
        index = index or self.index

        def section_of(row: int) -> str:
            return index.passages[row].section_id

        stage = self.rerank_stage  # one stage for the whole search: use_index() may replace it meanwhile
        notice = ""
        if mode == "auto":
            mode = "rerank" if stage.ready(index, asked=False) else "hybrid"
        elif mode == "rerank" and not stage.ready(index):
            mode = "hybrid"  # the server log says it once; each result names the mode that served it, and why
            notice = f"no reranker available ({stage.error}); served by mode hybrid"
        # Several passages of one section can fill the top of a ranking: look deeper than k.
        depth = max(self.settings.candidates, 4 * k)
        leaders: dict[str, tuple[str, float]] = {}
        if mode == "rerank":
            depth = max(depth, 4 * self.settings.rerank_candidates)
            ranking = self.passage_ranking(query, "hybrid", depth, timings, vector, index, leaders)
            ranking = boost(ranking, section_of, prior or {})
            hits = self.group(stage.rank(query, ranking, index, k, timings), k, index)
        else:
            ranking = self.passage_ranking(query, mode, depth, timings, vector, index, leaders)
            hits = self.group(boost(ranking, section_of, prior or {}), k, index)
        timings["total"] = elapsed_ms(t)
        result = SearchResult(question, mode, hits, timings, corrections, collection=self.settings.collection)
        result.leaders, result.notice = leaders, notice
        result.unknown_words = notable(index.lexical.unknown_words(query))
        return result
