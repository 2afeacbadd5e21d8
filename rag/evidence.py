"""Evidence selection: the sentences of the top sections that answer the question, ready to quote or to prompt with.

Every sentence of the top sections is scored (not only the best passage of each): its embedding match to the
question, how many of the question's content words it holds, its section's rank and whether it opens the section.
What cannot stand alone is skipped (captions and "the image below", list intros, bare sub-headings, code, formulas)
unless its section has nothing else (then its fragments that say something are quoted); a sentence that leans on
the one before it ("This …", "However, …") brings that one along; near-duplicates are dropped; the chosen
sentences read in document order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from corpus.markdown import row_cells
from corpus.model import Section
from corpus.text import fenced_sentences, list_items
from index.embed import Embedder
from index.lexical import share, tokenize
from index.sentences import SentenceStore, section_sentences
from rag.context import Source
from rag.hits import SectionHit
from rag.quotable import leans_back, quotable


@dataclass(frozen=True)
class EvidenceConfig:
    """Chosen on the dev set's tune split (eval/ablate_answers.py; eval/results/answers/README.md)."""

    max_sections: int = 3  # top sections whose sentences are scored
    lexical_weight: float = 0.15  # share of the question's content words a sentence holds
    rank_penalty: float = 0.12  # per section rank below the first
    lead_bonus: float = 0.03  # the first standalone sentences of a section often define its subject
    lead_sentences: int = 2
    # Fact recall grows with length (3 sentences 0.56, 5: 0.64, 6: 0.67 on tune); 5 within 0.3 of the best
    # keeps answers near 90 words.
    answer_sentences: int = 5  # sentences quoted from the primary section
    answer_margin: float = 0.3  # ... each within this of the best sentence's score
    # The sentences after the best one often finish its thought ("It randomly omits …", the fixes after the
    # problem): each gains this / its distance past the best one when the answer is chosen. Tune of 421, fact
    # recall (words per answer): 0 -> 0.698 (88), 0.1 -> 0.723, 0.3 -> 0.747, 0.5 -> 0.759 (96), 0.7 / 1.0 ->
    # 0.757 / 0.761 (98); with 4 sentences 0.727 (83); a sixth sentence without it 0.715 (99). Paired on tune
    # +0.061 [0.038, 0.088]; citation precision and relevant citation unchanged.
    continuation_bonus: float = 0.5
    # When the best sentence is not in the retriever's first section (after a follow-up's boost, when there is
    # one), quote that section's best sentence too if it is within answer_margin of the best: the two rankings
    # disagree on which section answers (tune of 301: relevant citation 0.945 -> 0.954, precision 0.945 -> 0.943).
    # Quoting a second section whenever its best sentence scores close to the best one cost more precision than it
    # gained relevant citation on tune (within 0.1: precision 0.947 -> 0.915, relevant 0.965), so it is not done.
    quote_first_section: bool = True
    prompt_sentences: int = 3  # per source, for the LLM's prompt
    prompt_sources: int = 3
    duplicate_jaccard: float = 0.7


@dataclass
class Sentence:
    section_id: str
    rank: int  # rank of its section in the retrieval result (0 = first)
    position: int  # index among the section's sentences
    text: str
    score: float = 0.0
    similarity: float = 0.0  # embedding match to the question alone
    words: frozenset[str] = frozenset()  # content words, stemmed


@dataclass
class Evidence:
    """The scored sentences of the top sections, best first, and the best match (a confidence signal)."""

    sentences: list[Sentence]
    by_section: dict[str, list[Sentence]] = field(default_factory=dict)  # all sentences, document order
    question_words: frozenset[str] = frozenset()  # content words, stemmed

    @property
    def best(self) -> float:
        return self.sentences[0].score if self.sentences else 0.0


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


@dataclass(frozen=True)
class SectionSentences:
    """What scoring needs of a section that does not depend on the question."""

    texts: list[str]
    vectors: np.ndarray
    words: list[frozenset[str]]  # content words of each sentence, stemmed
    quotable: list[bool]  # of each sentence (rag.quotable.quotable)


class SentenceVectors:
    """Each section's sentences, tokenised on first need and kept (a section is small), with their vectors: the
    ones stored with the index (index/sentences.py), else embedded now (an index written before they were
    stored), so a question only pays for the sections it has not met before."""

    def __init__(self, embedder: Embedder, stored: Callable[[], SentenceStore | None] = lambda: None) -> None:
        """`stored`: the current index's sentence vectors (read when a section is first needed)."""
        self._embedder = embedder
        self._stored = stored
        self._cache: dict[str, SectionSentences] = {}

    def get(self, section: Section) -> SectionSentences:
        if section.id not in self._cache:
            texts = section_sentences(section)
            store = self._stored()
            vecs = store.get(section.id, texts) if store is not None else None
            if vecs is None:
                vecs = self._embedder.embed(texts) if texts else np.zeros((0, self._embedder.dim), np.float32)
            words = [frozenset(tokenize(t)) for t in texts]
            code, items = fenced_sentences(section.text), list_items(section.text)
            flags = quotable(section.heading, texts, words, code, items)
            self._cache[section.id] = SectionSentences(texts, vecs, words, flags)
        return self._cache[section.id]


def score_evidence(
    question: str,
    question_vec: np.ndarray,
    section_ids: Sequence[str],
    sections: Mapping[str, Section],
    vectors: SentenceVectors,
    cfg: EvidenceConfig,
) -> Evidence:
    """Score every quotable sentence of the top sections against the question."""
    q_tokens = set(tokenize(question))
    scored: list[Sentence] = []
    by_section: dict[str, list[Sentence]] = {}
    for rank, sid in enumerate(section_ids[: cfg.max_sections]):
        known = vectors.get(sections[sid])
        sims = known.vectors @ question_vec if known.texts else np.zeros(0)
        lead = 0
        row: list[Sentence] = []
        for position, (text, sim) in enumerate(zip(known.texts, sims, strict=True)):
            words = known.words[position]
            sentence = Sentence(sid, rank, position, text, float("-inf"), float(sim), words)
            row.append(sentence)
            if not known.quotable[position]:
                continue
            cover = share(q_tokens, words)
            sentence.score = float(sim) + cfg.lexical_weight * cover - cfg.rank_penalty * rank
            if lead < cfg.lead_sentences:
                sentence.score += cfg.lead_bonus
                lead += 1
            scored.append(sentence)
        by_section[sid] = row
    scored.sort(key=lambda s: (-s.score, s.rank, s.position))
    return Evidence(scored, by_section, frozenset(q_tokens))


def pick(
    evidence: Evidence,
    section_id: str,
    limit: int,
    floor: float,
    cfg: EvidenceConfig,
    quoted: Sequence[Sentence] = (),
    after: Sentence | None = None,
) -> list[Sentence]:
    """Up to `limit` of a section's best sentences scoring at least `floor`, each with the sentence it leans on,
    near-duplicates (of each other and of the sentences already `quoted`) left out, in document order. Sentences
    that follow `after` (the answer's best sentence) gain the continuation bonus."""
    row = evidence.by_section.get(section_id, [])
    chosen: dict[int, Sentence] = {}
    taken: list[frozenset[str]] = []
    before = [q.words for q in quoted]
    other_rows = _other_rows(evidence, after) if after is not None else frozenset()
    for s, score in _ranked(evidence, section_id, cfg, after):
        if score < floor or s.position in chosen or s.position in other_rows:
            continue
        if len(taken) >= limit:
            break
        if any(_jaccard(s.words, w) >= cfg.duplicate_jaccard for w in (*before, *taken)):
            continue
        taken.append(s.words)
        chosen[s.position] = s
        prev = row[s.position - 1] if s.position > 0 else None
        if leans_back(s.text) and prev is not None and prev.score > float("-inf"):
            chosen.setdefault(prev.position, prev)
    return [chosen[p] for p in sorted(chosen)]


def _other_rows(evidence: Evidence, best: Sentence) -> frozenset[int]:
    """When the best sentence is a table row whose cells hold a question word ("What does error E02 mean?"), the
    positions of its table's other rows whose cells hold none: a row is one record, the rows after it are other
    records, not the rest of its thought. A question that only matches the headers ("Which error codes are
    there?") leaves the table whole."""
    cells = row_cells(best.text)
    if cells is None or not evidence.question_words & set(tokenize(cells[1])):
        return frozenset()
    out = set()
    for s in evidence.by_section.get(best.section_id, []):
        other = row_cells(s.text)
        if other is not None and other[0] == cells[0] and not evidence.question_words & set(tokenize(other[1])):
            out.add(s.position)
    return frozenset(out)


def _ranked(
    evidence: Evidence, section_id: str, cfg: EvidenceConfig, after: Sentence | None
) -> list[tuple[Sentence, float]]:
    """A section's scored sentences with the continuation bonus added, best first."""
    ranked = []
    for s in evidence.sentences:
        if s.section_id != section_id:
            continue
        past = s.position - after.position if after is not None else 0
        ranked.append((s, s.score + (cfg.continuation_bonus / past if past > 0 else 0.0)))
    ranked.sort(key=lambda pair: (-pair[1], pair[0].position))
    return ranked


def answer_sentences(evidence: Evidence, cfg: EvidenceConfig) -> list[Sentence]:
    """What the extractive answer quotes: the best sentence's section's best sentences, and the best one of the
    retriever's first section when that is another section (the ranking is then unsure which section answers) and
    its sentence is about as good as the quoted ones."""
    if not evidence.sentences:
        return []
    best = evidence.sentences[0]
    floor = best.score - cfg.answer_margin
    out = pick(evidence, best.section_id, cfg.answer_sentences, floor, cfg, after=best)
    first = next((s for s in evidence.sentences if s.rank == 0), None)
    if first is None or best.rank == 0 or not cfg.quote_first_section or first.score < floor:
        return out
    return out + pick(evidence, first.section_id, 1, first.score, cfg, quoted=out)  # one passage in two sections


def prompt_sentences(evidence: Evidence, cfg: EvidenceConfig) -> list[Sentence]:
    """What the LLM is given: the best few sentences of each of the best-matching sections."""
    sections = list(dict.fromkeys(s.section_id for s in evidence.sentences))[: cfg.prompt_sources]
    return [s for sid in sections for s in pick(evidence, sid, cfg.prompt_sentences, float("-inf"), cfg)]


def to_sources(sentences: list[Sentence], hits: list[SectionHit]) -> list[Source]:
    """Number the sections of the chosen sentences in order of first appearance; each keeps its sentences."""
    by_id = {h.section_id: h for h in hits}
    grouped: dict[str, list[Sentence]] = {}
    for s in sentences:
        grouped.setdefault(s.section_id, []).append(s)
    return [
        Source(
            n=n,
            section_id=sid,
            heading=by_id[sid].heading,
            sentences=[s.text for s in group],
            score=by_id[sid].score,
            snippet=by_id[sid].snippet,
            sentence_scores=[s.score for s in group],
            document=by_id[sid].document,
            heading_path=by_id[sid].heading_path,
            page=by_id[sid].page,
        )
        for n, (sid, group) in enumerate(grouped.items(), start=1)
    ]
