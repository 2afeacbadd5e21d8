"""First-stage retrieval: dense (FAISS), lexical (BM25) and their fusion, grouped from passages to sections."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from corpus.errors import InvalidInputError
from index.embed import Embedder
from index.store import StoredIndex
from index.vectors import search_faiss
from rag.config import MODES, Settings
from rag.fusion import reciprocal_rank_fusion, weighted_fusion
from rag.indexing import Notify, open_index
from rag.rerank import Candidate, Reranker, RerankerUnavailable


@dataclass
class SectionHit:
    rank: int
    section_id: str
    heading: str
    category: str
    score: float
    snippet: str  # text of the best passage of the section
    passage_id: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SearchResult:
    query: str
    mode: str
    hits: list[SectionHit]
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds per stage

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "mode": self.mode,
            "results": [h.to_json() for h in self.hits],
            "timings_ms": {k: round(v, 2) for k, v in self.timings.items()},
        }


def clean_question(question: str, settings: Settings) -> str:
    q = " ".join(question.split())
    if not q:
        raise InvalidInputError("the question is empty")
    try:
        q.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: undecodable bytes from argv or a JSON "\\ud800"
        raise InvalidInputError("the question contains invalid characters (not UTF-8 text)") from None
    if len(q) > settings.max_question_chars:
        raise InvalidInputError(f"the question is {len(q)} characters long; the limit is {settings.max_question_chars}")
    return q


class Retriever:
    """Holds the embedder and the index; load once with warm_up(), then search() many times."""

    def __init__(self, settings: Settings, notify: Notify | None = None, progress: bool = True) -> None:
        self.settings = settings
        self.embedder = Embedder(settings.embed_model, settings.device)
        self._notify = notify or (lambda _: None)
        self._progress = progress
        self._index: StoredIndex | None = None
        self.reranker = Reranker(settings)
        self.reranker_error = ""  # why mode "rerank" serves hybrid results, once known

    def warm_up(self) -> None:
        self._load_index()
        if self.settings.mode == "rerank":
            self.reranker_ready()

    def reranker_ready(self) -> bool:
        """Load the cross-encoder on first need; when there is none, say why once and return False."""
        if self.reranker.loaded:
            return True
        if self.reranker_error:
            return False
        try:
            self.reranker.warm_up(self.index)
        except RerankerUnavailable as exc:
            self.reranker_error = str(exc)
            self._notify(f"no reranker available ({exc}); mode rerank serves hybrid results")
            return False
        return True

    def _load_index(self) -> StoredIndex:
        if self._index is None:
            self.embedder.warm_up()
            self._index = open_index(self.settings, self.embedder, self._notify, self._progress)
        return self._index

    @property
    def index(self) -> StoredIndex:
        return self._load_index()

    def passage_ranking(
        self,
        query: str,
        mode: str,
        depth: int,
        timings: dict[str, float],
        vector: np.ndarray | None = None,
    ) -> list[tuple[int, float]]:
        """Passage rows with scores, best first, for one first-stage mode (`vector`: the query, embedded)."""
        index = self.index
        rankings: list[list[tuple[int, float]]] = []
        if mode in ("dense", "hybrid"):
            t = time.perf_counter()
            vec = self.embedder.embed([query])[0] if vector is None else vector
            timings["embed"] = timings.get("embed", 0.0) + _ms(t)
            t = time.perf_counter()
            ids, scores = search_faiss(index.faiss, vec, depth)
            rankings.append(list(zip(ids.tolist(), scores.tolist(), strict=True)))
            timings["dense"] = _ms(t)
        if mode in ("bm25", "hybrid"):
            t = time.perf_counter()
            ids, scores = index.lexical.search(query, depth)
            rankings.append(list(zip(ids.tolist(), scores.tolist(), strict=True)))
            timings["bm25"] = _ms(t)
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

    def group(self, ranking: list[tuple[int, float]], k: int) -> list[SectionHit]:
        """Best passage per section wins; sections keep the order of their best passage."""
        index = self.index
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
                )
            )
            if len(hits) == k:
                break
        return hits

    def search(
        self, question: str, k: int | None = None, mode: str | None = None, vector: np.ndarray | None = None
    ) -> SearchResult:
        """`vector`: the question already embedded (the answer pipeline needs it too; embed once)."""
        query = clean_question(question, self.settings)
        k = self.settings.k if k is None else k
        mode = mode or self.settings.mode
        if mode not in MODES:
            raise InvalidInputError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        if not 1 <= k <= 50:
            raise InvalidInputError(f"k must be between 1 and 50, got {k}")
        timings: dict[str, float] = {}
        t = time.perf_counter()
        if mode == "rerank" and not self.reranker_ready():
            mode = "hybrid"  # said once by reranker_ready(); the result names the mode that served it
        # Several passages of one section can fill the top of a ranking: look deeper than k.
        depth = max(self.settings.candidates, 4 * k)
        if mode == "rerank":
            depth = max(depth, 4 * self.settings.rerank_candidates)
            ranking = self.passage_ranking(query, "hybrid", depth, timings, vector)
            hits = self.rerank(query, ranking, k, timings)
        else:
            ranking = self.passage_ranking(query, mode, depth, timings, vector)
            hits = self.group(ranking, k)
        timings["total"] = _ms(t)
        return SearchResult(query=question, mode=mode, hits=hits, timings=timings)

    def rerank(
        self, query: str, ranking: list[tuple[int, float]], k: int, timings: dict[str, float]
    ) -> list[SectionHit]:
        """Rescore the best passages of the first stage's top sections with the cross-encoder.

        Each of the top `rerank_candidates` sections sends its best `rerank_passages` passages (first-stage
        order), narrowed to what fits the cross-encoder (rag.rerank.focus); a section scores as its best passage.
        The order (rerank_fusion): "weighted" blends the first-stage and reranker scores, "rrf" fuses their ranks,
        "score" is the reranker alone. Sections beyond the candidates follow in first-stage order.
        """
        index = self.index
        n_sections, per_section = self.settings.rerank_candidates, self.settings.rerank_passages
        first: list[tuple[str, float]] = []  # candidate sections and their first-stage scores, in order
        rows: dict[str, list[int]] = {}
        for row, score in ranking:
            sid = index.passages[row].section_id
            if sid not in rows:
                if len(first) == n_sections:
                    continue
                first.append((sid, score))
                rows[sid] = []
            if len(rows[sid]) < per_section:
                rows[sid].append(row)
        candidates = [
            Candidate(r, self.reranker.pair_text(query, index.passages[r].heading, index.passages[r].text))
            for sid, _ in first
            for r in rows[sid]
        ]
        scored = self.reranker.rerank(query, candidates, timings)
        best: dict[str, tuple[int, float]] = {}  # section -> (best row, its reranker score)
        for row, score in scored:  # best first, so the first seen per section is its best
            best.setdefault(index.passages[row].section_id, (row, score))
        by_reranker = sorted(((i, best[sid][1]) for i, (sid, _) in enumerate(first)), key=lambda x: (-x[1], x[0]))
        fusion = self.settings.rerank_fusion
        if fusion == "score":
            fused = dict(by_reranker)
        elif fusion == "rrf":
            fused = reciprocal_rank_fusion([[(i, 0.0) for i in range(len(first))], by_reranker], self.settings.rrf_k)
        else:  # weighted: the first stage's section scores and the reranker's, each min-max normalised
            w = self.settings.rerank_weight
            fused = weighted_fusion([[(i, score) for i, (_, score) in enumerate(first)], by_reranker], [1.0 - w, w])
        order = [first[i][0] for i, _ in sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))]
        scores = {first[i][0]: v for i, v in fused.items()}
        reranked = [(best[sid][0], scores[sid]) for sid in order]
        if len(reranked) < k:  # the rest, as the first stage ranked them
            reranked += [(row, score) for row, score in ranking if index.passages[row].section_id not in best]
        return self.group(reranked, k)


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
