"""Evidence selection: the sentences of the top sections that answer the question, ready to quote or to prompt with.

Every sentence of the top sections is scored (not only the best passage of each): its embedding match to the
question, how many of the question's content words it holds, its section's rank and whether it opens the section.
What cannot stand alone is skipped (captions and "the image below", list intros, bare sub-headings, code, formulas)
unless its section has nothing else (then its fragments that say something are quoted); a sentence that leans on
the one before it ("This …", "However, …") brings that one along; near-duplicates are dropped; the chosen
sentences read in document order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from corpus.model import Section
from index.embed import Embedder
from index.lexical import share, tokenize
from index.sentences import SentenceStore, section_sentences
from rag.context import Source
from rag.hits import SectionHit


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

    @property
    def best(self) -> float:
        return self.sentences[0].score if self.sentences else 0.0


_FIGURE = re.compile(
    r"\b(?:image|figure|fig\.|diagram|table|illustration|screenshot|chart|graph|plot|picture|video)s?\s+"
    r"(?:below|above)|\b(?:below|above)\s+(?:image|figure|diagram|table|shows|illustrates)|"
    r"\bcf\.\s+figure|^(?:image|figure|source|credit|photo)s?\s*(?:\d+\s*)?[:(]|\bshown\s+(?:below|above)|"
    r"\bas\s+follows\b|\bthe following\b",
    re.IGNORECASE,
)
# Points the reader elsewhere: to a list that follows, to a walk-through ("Let's look at …"), or to a link or
# article ("… offers a great overview of this topic", "refer Wikipedia"). Quoted alone it answers nothing.
_ELSEWHERE = re.compile(
    r"\b(?:mentioned|listed|described|discussed|outlined)\s+below\b|"
    r"^(?:let(?:'s|’s|\s+us)\s+(?:understand|look|examine|see|consider|dive|explore|break)\b|"
    r"here(?:'s|’s|\s+is)\s+(?:a|the)\s+(?:breakdown|summary|rundown)\b)|"
    r"\boverview\s+of\s+this\s+topic\b|\bcan\s+be\s+consulted\b|"
    r"^(?:for\s+(?:more|details),?\s+)?(?:refer|see|read)\s+(?:to\s+)?(?:wikipedia|blog|the\s+(?:paper|article|blog))\b",
    re.IGNORECASE,
)
# Back matter lists sources and links; a fragment of it ("ML Interview Questions") answers nothing.
_BACK_MATTER = re.compile(
    r"(?:references|citations?|bibliography|further reading|acknowledge?ments?|see also|resources|links)\W*$",
    re.IGNORECASE,
)
_FIELD = re.compile(r"^\s*[@\w]+\s*=\s*\{|[{}],?\s*$")  # a BibTeX line: "title = {…}," or "@article{key,"
_CODE = re.compile(r"^(?:from |import |def |class |print\(|>>>|return |for .* in .*:|#include)|[{};]\s*$")
_WINDOWS_PATH = re.compile(r"\b[A-Za-z]:\\\S*|\\\\\S+")  # C:\ProgramData\app.yaml, \\server\share
# A sentence opening with one of these leans on the sentence before it.
_ANAPHOR = re.compile(
    r"^(?:this|these|that|those|it|its|they|their|such|however|therefore|thus|hence|so|also|additionally|"
    r"moreover|furthermore|instead|in other words|as a result|in contrast|similarly|likewise|here|then)\b",
    re.IGNORECASE,
)


def standalone(sentence: str) -> bool:
    """Whether a sentence can be quoted on its own: a complete statement, not a caption, list intro or code."""
    words = sentence.split()
    if len(words) < 5 or sentence.endswith((":", "?")):
        return False
    if _figure_or_code(sentence) or sentence.count("=") > 1:
        return False
    letters = sum(ch.isalpha() for ch in sentence)
    if letters < 0.6 * len(sentence.replace(" ", "")) or _WINDOWS_PATH.sub("", sentence).count("\\") > 2:
        return False  # formulas and LaTeX (a Windows path's backslashes are not LaTeX)
    return sentence[-1] in ".!)\"”'" or (len(words) >= 10 and not _titled(words))


def _titled(words: list[str]) -> bool:
    """A long line in title case without a full stop is a sub-heading ("Novelty and Advantages of RLHF Compared
    to Uncurated Text Corpora"), not a statement."""
    long = [w for w in words if len(w) >= 4 and w[0].isalpha()]
    listing = any(w.endswith(",") for w in words)  # "… is Alice Brown, Carol Smith, …" lists names
    return not listing and len(long) >= 3 and sum(w[0].isupper() for w in long) >= 0.8 * len(long)


def fragment(sentence: str, words: frozenset[str]) -> bool:
    """Whether a sentence that is not standalone may still be quoted when its section has nothing better (tune:
    relevant citation 0.935 -> 0.947, e.g. the section on standardization vs normalization is two formula lines):
    it says something (two words, not a formula's symbols), is neither a question nor a BibTeX field, and neither
    points at a figure nor is code. A list intro may stay: in such a section it often carries the content ("–>
    elements in a set(list)- As an simple example:" is the SQL section's whole definition of IN; tune fact recall
    0.713 without it, 0.716 with)."""
    said = [w for w in words if len(w) > 2 and w.isalpha()]
    if len(said) < 2 or sentence.rstrip().endswith("?") or _FIELD.search(sentence):
        return False
    return not _figure_or_code(sentence)


def _figure_or_code(sentence: str) -> bool:
    """Points at a figure that is not there or elsewhere, or is code: never quoted, standalone or fragment."""
    return bool(_FIGURE.search(sentence) or _ELSEWHERE.search(sentence) or _CODE.search(sentence))


def leans_back(sentence: str) -> bool:
    return bool(_ANAPHOR.match(sentence))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


@dataclass(frozen=True)
class SectionSentences:
    """What scoring needs of a section that does not depend on the question."""

    texts: list[str]
    vectors: np.ndarray
    words: list[frozenset[str]]  # content words of each sentence, stemmed
    quotable: list[bool]  # standalone() of each sentence, or fragment() when none is


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
            quotable = [standalone(t) for t in texts]
            # A section of only formulas or list fragments still answers its heading; back matter answers nothing.
            if not any(quotable) and not _BACK_MATTER.match(section.heading.strip()):
                quotable = [fragment(t, w) for t, w in zip(texts, words, strict=True)]
            self._cache[section.id] = SectionSentences(texts, vecs, words, quotable)
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
    return Evidence(scored, by_section)


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
    for s, score in _ranked(evidence, section_id, cfg, after):
        if score < floor or s.position in chosen:
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
