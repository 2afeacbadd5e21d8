"""The second ranking stage of mode rerank: the cross-encoder rescores the first stage's best sections.

No usable model never breaks search: the stage says why once (notify) and the retriever serves hybrid results.
"""

from __future__ import annotations

import threading
import time

from index.collection import Notify, quiet
from index.store import StoredIndex
from rag.config import Settings
from rag.fusion import reciprocal_rank_fusion, weighted_fusion
from rag.rerank.artifacts import RerankerUnavailable
from rag.rerank.model import Candidate, Reranker

Ranking = list[tuple[int, float]]  # (passage row, score), best first
# How long a stage without a model waits before it looks again: `askdoc reranker train` may finish while a server
# runs, and a look (one small JSON read) on every search would be wasted on the many collections that have none.
RETRY_SECONDS = 10.0


class RerankStage:
    """Loads the cross-encoder on first need (ready()), then reorders first-stage rankings (rank())."""

    def __init__(self, settings: Settings, notify: Notify = quiet, reranker: Reranker | None = None) -> None:
        self.settings = settings
        self.reranker = reranker or Reranker(settings)
        self.error = ""  # why mode "rerank" serves hybrid results, once known
        self._looked = 0.0  # when the model was last looked for in vain (time.monotonic)
        self._notify = notify
        self._lock = threading.Lock()  # concurrent first searches of a server load (and export) the model once

    def ready(self, index: StoredIndex, asked: bool = True) -> bool:
        """Load the cross-encoder on first need; when there is none, return False, and say why once when it was
        `asked` for (mode rerank; mode auto just serves hybrid). A missing one is looked for again after
        RETRY_SECONDS, so one trained while a server runs is used without a restart."""
        if self.reranker.loaded:
            return True
        with self._lock:
            if self.error and time.monotonic() - self._looked < RETRY_SECONDS:
                return False
            try:
                self.reranker.warm_up(index)  # returns at once when another search loaded it meanwhile
            except RerankerUnavailable as exc:
                if asked and str(exc) != self.error:
                    self._notify(f"no reranker available ({exc}); mode rerank serves hybrid results")
                self.error, self._looked = str(exc), time.monotonic()
                return False
            self.error = ""
        return True

    def rank(self, query: str, ranking: Ranking, index: StoredIndex, k: int, timings: dict[str, float]) -> Ranking:
        """The first stage's passage ranking reordered by the cross-encoder, one passage per candidate section.

        Each of the top `rerank_candidates` sections sends its best `rerank_passages` passages (first-stage
        order), narrowed to what fits the cross-encoder (rag.rerank.focus); a section scores as its best passage.
        The order (rerank_fusion): "weighted" blends the first-stage and reranker scores, "rrf" fuses their ranks,
        "score" is the reranker alone. Sections beyond the candidates follow in first-stage order (enough of
        them to fill k sections).
        """
        first, rows = self._candidates(ranking, index)
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
        fused = self._fuse(first, by_reranker)
        order = [first[i][0] for i, _ in sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))]
        scores = {first[i][0]: v for i, v in fused.items()}
        reranked = [(best[sid][0], scores[sid]) for sid in order]
        if len(reranked) < k:  # the rest, as the first stage ranked them
            reranked += [(row, score) for row, score in ranking if index.passages[row].section_id not in best]
        return reranked

    def _candidates(self, ranking: Ranking, index: StoredIndex) -> tuple[list[tuple[str, float]], dict[str, list[int]]]:
        """The candidate sections with their first-stage scores, in order, and the passage rows each sends."""
        n_sections, per_section = self.settings.rerank_candidates, self.settings.rerank_passages
        first: list[tuple[str, float]] = []
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
        return first, rows

    def _fuse(self, first: list[tuple[str, float]], by_reranker: list[tuple[int, float]]) -> dict[int, float]:
        """Candidate position -> final score, by rerank_fusion."""
        fusion = self.settings.rerank_fusion
        if fusion == "score":
            return dict(by_reranker)
        if fusion == "rrf":
            return reciprocal_rank_fusion([[(i, 0.0) for i in range(len(first))], by_reranker], self.settings.rrf_k)
        # weighted: the first stage's section scores and the reranker's, each min-max normalised
        w = self.settings.rerank_weight
        return weighted_fusion([[(i, score) for i, (_, score) in enumerate(first)], by_reranker], [1.0 - w, w])
