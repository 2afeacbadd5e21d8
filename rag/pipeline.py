"""The Python API: one object that holds the loaded models and answers questions (sync and streaming).

    askdoc = AskDoc(Settings.from_env()); askdoc.warm_up()
    answer = askdoc.ask("What is self-attention?")
    for event in askdoc.ask_stream("..."): ...   # TokenEvent..., then one FinalEvent

Evidence first: every sentence of the top sections is scored against the question (rag.evidence). The answer
quotes the best of them (answer_style "extractive", the default), or the LLM writes from them ("generate") and a
sentence is shown only once the verifier finds it supported (rag.verify); nothing shown is withdrawn.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from corpus.errors import AskdocError, CollectionNotFoundError
from corpus.model import Section
from index.collection import Notify, quiet
from index.store import StoredIndex
from rag.answer import Answer, Draft, FinalEvent, TokenEvent, refusal_text
from rag.compose import Composer
from rag.config import ANSWER_STYLES, Settings, check_choice, check_probability
from rag.evidence import EvidenceConfig, SentenceVectors, score_evidence
from rag.followup import FollowupConfig, SearchPlan, Turn, check_history, plan_search
from rag.generation import ChatModel, load_chat_model
from rag.hits import SearchResult, elapsed_ms
from rag.refusal import RefusalModel, Signals, signals
from rag.retrieve import Retriever

__all__ = ["Answer", "AskDoc", "FinalEvent", "TokenEvent", "Turn"]


class AskDoc:
    def __init__(
        self,
        settings: Settings,
        retriever: Retriever | None = None,
        notify: Notify | None = None,
        progress: bool = True,
        llm: ChatModel | None = None,
    ) -> None:
        """`retriever`: a loaded one to share (its embedder and index); else one is made from the settings.
        `llm`: a chat model to use instead of the one the settings name (loaded on first need)."""
        self.settings = settings
        self.retriever = retriever if retriever is not None else Retriever(settings, notify=notify, progress=progress)
        self._notify = notify or quiet
        self.evidence = EvidenceConfig()
        self.followup = FollowupConfig()
        self._vectors = self._sentence_vectors()
        self._refusal: RefusalModel | None = None
        self._llm: ChatModel | None = llm
        self._llm_error = ""
        # One model instance generates one answer at a time; callers queue here (the API bounds the queue).
        self.generation_lock = threading.Lock()
        self.composer = Composer(self.evidence, self.retriever.embedder, settings.max_new_tokens, self.generation_lock)

    def _sentence_vectors(self) -> SentenceVectors:
        return SentenceVectors(self.retriever.embedder, lambda: self.retriever.index.sentences)

    def warm_up(self, llm: bool = True) -> None:
        self.retriever.warm_up()
        if llm and self._llm is None and not self._llm_error:
            try:
                model = load_chat_model(self.settings)
                model.warm_up()
                self._llm = model
            except AskdocError as exc:
                # No usable LLM: answers are extractive, and every answer says why.
                self._llm_error = str(exc)
                self._notify(f"no language model available ({exc}); answering extractively")

    @property
    def llm_name(self) -> str:
        return self._llm.name if self._llm else ""

    def for_collection(self, name: str) -> AskDoc:
        """An engine for another collection that shares this one's models: the embedder, the LLM and the lock that
        lets one answer at a time use it (its index loads on first use)."""
        settings = self.settings.replace(collection=name)
        progress = self.retriever._progress
        retriever = Retriever(settings, embedder=self.retriever.embedder, notify=self._notify, progress=progress)
        other = AskDoc(settings, retriever, self._notify, progress, llm=self._llm)
        other._llm_error = self._llm_error
        other.generation_lock = self.generation_lock
        other.composer = Composer(other.evidence, retriever.embedder, settings.max_new_tokens, self.generation_lock)
        return other

    def use_index(self, index: StoredIndex) -> None:
        """Answer from `index` from now on; the sentence vectors cached per section id may be out of date."""
        self.retriever.use_index(index)
        self._vectors = self._sentence_vectors()

    def follow_disk(self) -> None:
        """Answer from the index on disk when another process has replaced this one's (Retriever.follow_disk), and
        from an added document's file as it is now when it was edited since (Retriever.follow_files)."""
        try:
            changed = self.retriever.follow_disk() or self.retriever.follow_files()
        except CollectionNotFoundError:
            self._vectors = self._sentence_vectors()  # a collection made again under the name is another one
            raise
        if changed:
            self._vectors = self._sentence_vectors()

    def search(
        self, question: str, k: int | None = None, mode: str | None = None, history: Sequence[Turn] = ()
    ) -> SearchResult:
        """`history`: the earlier turns of a conversation, most recent last (rag.followup)."""
        if not history:
            return self.retriever.search(question, k=k, mode=mode)
        query, corrections = self.retriever.prepare(question)
        plan = self.plan(query, history)
        result = self.retriever.search(plan.search, k=k, mode=mode, cleaned=True, prior=plan.prior)
        result.query, result.search_question, result.corrections = question, plan.search, corrections
        return result

    def plan(self, query: str, history: Sequence[Turn]) -> SearchPlan:
        """How to search for a prepared question after `history`: alone, or with the earlier turn's topic."""
        turns = check_history(history, lambda q: self.retriever.prepare(q)[0])
        return plan_search(query, turns, self.retriever.index.lexical.knows, self.followup)

    def ask(self, question: str, **options: Any) -> Answer:
        """The final answer of ask_stream(question, **options) (k, mode, extractive, style, history, refuse_below)."""
        final = None
        for event in self.ask_stream(question, **options):
            if isinstance(event, FinalEvent):
                final = event.answer
        assert final is not None
        return final

    def ask_stream(
        self,
        question: str,
        k: int | None = None,
        mode: str | None = None,
        extractive: bool = False,
        style: str | None = None,
        history: Sequence[Turn] = (),
        refuse_below: float | None = None,
    ) -> Iterator[TokenEvent | FinalEvent]:
        """Verified sentences as they are ready (TokenEvent, each with its citation; they join to the final answer's
        text), then one FinalEvent. The question is checked here, at the call, not at the first event, so a caller
        can refuse bad input before it starts a stream; it is prepared (cleaned, typos corrected) once for the whole
        answer. `history`: the earlier turns of a conversation, most recent last; a follow-up is searched with its
        topic (rag.followup). `refuse_below`: this answer's refusal threshold (default settings.refuse_below; 0
        never refuses)."""
        start = time.perf_counter()
        query, corrections = self.retriever.prepare(question)
        style = "extractive" if extractive else style or self.settings.answer_style
        check_choice("answer_style", style, ANSWER_STYLES)
        plan = self.plan(query, history) if history else SearchPlan(query)
        threshold = self.settings.refuse_below if refuse_below is None else refuse_below
        check_probability("refuse_below", threshold)
        return self._stamped(self._events(question, plan, corrections, k, mode, style, threshold, start))

    def _stamped(self, events: Iterator[TokenEvent | FinalEvent]) -> Iterator[TokenEvent | FinalEvent]:
        for event in events:
            if isinstance(event, FinalEvent):
                event.answer.collection = self.settings.collection
            yield event

    def _events(
        self,
        question: str,
        plan: SearchPlan,
        corrections: dict[str, str],
        k: int | None,
        mode: str | None,
        style: str,
        refuse_below: float,
        start: float,
    ) -> Iterator[TokenEvent | FinalEvent]:
        query = plan.search
        draft = self.gather(question, query, k, mode, start, plan.prior)
        draft.corrections, draft.refuse_below = corrections, refuse_below
        t = time.perf_counter()
        self._refusal = self._refusal or RefusalModel.load()
        draft.contributions = self._refusal.contributions(draft.signals)
        draft.covered = self._refusal.probability(draft.contributions)
        draft.timings["refusal"] = elapsed_ms(t)
        if draft.covered < refuse_below or not draft.evidence.sentences:
            nearest = [h.to_json() for h in draft.hits[:3]]
            text = refusal_text(draft.documents)
            yield TokenEvent(text)  # a stream's pieces join to the final answer's text, a refusal's too
            yield draft.final(Answer(question, text, "refused", [], [], {}, draft.evidence.best, nearest))
            return
        if style != "extractive":
            self.warm_up(llm=True)
        if style == "extractive" or self._llm is None:
            yield from self.composer.quote(draft, "" if style == "extractive" else self._llm_error)
        elif style == "generate":
            yield from self.composer.generate(self._llm, draft, query)
        else:
            yield from self.composer.constrained(self._llm, draft, query, style)

    def gather(
        self,
        question: str,
        query: str,
        k: int | None,
        mode: str | None,
        start: float,
        prior: dict[str, float] | None = None,
    ) -> Draft:
        """Retrieve, score the evidence and read the refusal signals for a prepared question (Retriever.prepare;
        `prior`: section bonuses of a follow-up)."""
        t = time.perf_counter()
        qvec = self.retriever.embedder.embed([query])[0]
        embed_ms = elapsed_ms(t)
        index = self.retriever.index  # one index for every step: a collection may be swapped in meanwhile
        result = self.retriever.search(query, k=k, mode=mode, vector=qvec, cleaned=True, prior=prior, index=index)
        timings = {f"retrieve_{name}": v for name, v in result.timings.items()} | {"retrieve_embed": embed_ms}
        t = time.perf_counter()
        sections = [h.section_id for h in result.hits]
        evidence = score_evidence(query, qvec, sections, index.sections, self._vectors, self.evidence)
        timings["context"] = elapsed_ms(t)
        draft = Draft(question, result.hits, evidence, timings, start, search=query)
        draft.documents = index.manifest.counts.get("documents", 1)
        draft.signals = self._signals(query, qvec, draft, index, result)
        return draft

    def _signals(self, query: str, qvec: np.ndarray, draft: Draft, index: StoredIndex, result: SearchResult) -> Signals:
        """What the refusal model weighs: each retriever's top section as the search found it (result.leaders),
        or from that retriever alone when the mode did not run it."""
        tops = dict(result.leaders)
        for mode in ("dense", "bm25"):
            if mode not in tops:
                self.retriever.passage_ranking(query, mode, 1, {}, qvec, index, tops)
        best = draft.evidence.sentences[0].section_id if draft.evidence.sentences else ""
        text = index.sections[best].text if best else ""
        lexical = index.lexical  # every unknown word: the search result's list leaves common English ones out
        coverage, unknown = lexical.coverage(query), lexical.unknown_words(query)
        return signals(query, draft.evidence, text, coverage, tops["dense"], tops["bm25"], unknown)

    def section(self, section_id: str) -> Section | None:
        """A whole section of the collection, or None when there is no section with this id."""
        return self.retriever.index.sections.get(section_id)

    def status(self) -> dict[str, Any]:
        """What a readiness check reports: the language model (None: answers are extractive) and the collection
        size."""
        return {"llm": self.llm_name or None, "sections": len(self.retriever.index.sections)}
