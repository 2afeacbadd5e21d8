"""Training groups made from the indexed collection alone (never an evaluation question).

  * heading -> its section's passages: the heading (usually a question) as the query, a passage body as the
    positive. The heading is left out of every document of such a group, or the model would learn to match
    the heading string instead of the content;
  * inverse cloze: sentences taken out of a passage are the queries, heading + the rest of that passage is the
    positive: this teaches detail questions, whose answer is one sentence deep in a section.
Queries are sometimes rewritten the way people type them (keywords only, a typo, lower case). Hard negatives
are the first-stage (hybrid) retriever's best passages for the query, excluding the query's own section (and
sections with the same heading). Documents are the whole passage, cut at max_length (narrowing them with
rag.rerank.focus(), as scoring does, measured worse on the tune split: the model learnt the lexical overlap that
focus selects for).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from corpus.errors import InvalidInputError
from corpus.text import normalise, sentence_spans, strip_bullet
from index.lexical import STOPWORDS
from index.store import StoredIndex
from rag.rerank.focus import pair_text
from rag.retrieve import Retriever

if TYPE_CHECKING:  # loop.py imports this module
    from rag.rerank.train.loop import TrainConfig

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]*")

RawPair = tuple[str, str, str, set[str]]  # (query, positive text, kind, sections its negatives must not come from)


@dataclass
class Group:
    query: str
    positive: str
    negatives: list[str]
    kind: str  # "heading" or "cloze"


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 2)
    op = rng.randrange(3)
    if op == 0:  # swap two letters
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if op == 1:  # drop one
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]  # double one


def augment_query(query: str, rng: random.Random) -> str:
    """Now and then, the query as people type it: keywords only (15 %), one typo (15 %), lower case (15 %)."""
    x = rng.random()
    if x < 0.15:
        keywords = [w for w in _WORD.findall(query) if w.lower() not in STOPWORDS]
        return " ".join(keywords).lower() or query
    if x < 0.30:
        words = query.split()
        j = rng.randrange(len(words))
        words[j] = _typo(words[j], rng)
        return " ".join(words)
    if x < 0.45:
        return query.lower()
    return query


def make_groups(retriever: Retriever, config: TrainConfig, progress: bool = True) -> list[Group]:
    """Training groups from the index's sections and passages, hard negatives from the hybrid retriever."""
    from tqdm.auto import tqdm

    index = retriever.index
    rng = random.Random(config.seed)
    raw = _raw_pairs(index, config, rng)
    vectors = retriever.embedder.embed([q for q, *_ in raw], progress=progress)
    groups: list[Group] = []
    for (query, positive, kind, exclude), vec in tqdm(
        list(zip(raw, vectors, strict=True)), desc="Mining hard negatives", unit="query", disable=not progress
    ):
        ranking = retriever.passage_ranking(query, "hybrid", config.mine_depth, {}, vector=vec)
        chosen = _negatives(index, [r for r, _ in ranking], exclude, config.negatives, rng)
        negatives = [
            pair_text("" if kind == "heading" else index.passages[r].heading, index.passages[r].text)
            or index.passages[r].heading
            for r in chosen
        ]
        groups.append(Group(query, positive, negatives, kind))
    return groups


def _raw_pairs(index: StoredIndex, config: TrainConfig, rng: random.Random) -> list[RawPair]:
    """The (query, positive) pairs of every section, heading pairs then cloze pairs, in section-id order."""
    by_section: dict[str, list[int]] = {}
    for row, p in enumerate(index.passages):
        by_section.setdefault(p.section_id, []).append(row)
    heading_of = {sid: normalise(s.heading) for sid, s in index.sections.items()}

    def rewrite(query: str) -> str:
        return augment_query(query, rng) if config.augment else query

    raw: list[RawPair] = []
    for sid in sorted(by_section):
        section = index.sections[sid]
        bodies = [r for r in by_section[sid] if index.passages[r].text.strip()]
        same = {s for s, h in heading_of.items() if h == heading_of[sid]}
        for r in bodies:  # heading -> every passage of its section
            raw.append((rewrite(section.heading), index.passages[r].text, "heading", same))
        for r in bodies:  # inverse cloze: sentences out of each passage
            text = index.passages[r].text
            spans = sentence_spans(text)
            usable = [i for i, (a, b) in enumerate(spans) if len(text[a:b].split()) >= 6]
            if len(spans) < 2:
                continue
            for i in rng.sample(usable, min(config.cloze_per_passage, len(usable))):
                rest = cut_span(text, spans[i])
                if len(rest.split()) < 8:
                    continue
                query = rewrite(strip_bullet(text[slice(*spans[i])]))
                raw.append((query, pair_text(section.heading, rest), "cloze", {sid}))
    return raw


def _negatives(index: StoredIndex, ranked: list[int], exclude: set[str], n: int, rng: random.Random) -> list[int]:
    """`n` passage rows outside `exclude`: drawn from the best-ranked ones, topped up at random when too few."""
    pool = [r for r in ranked if index.passages[r].section_id not in exclude]
    chosen = pool[: n * 2]
    rng.shuffle(chosen)
    chosen = chosen[:n]
    if len(chosen) < n:  # shallow ranking: fill with other sections' passages
        others = [r for r in range(len(index.passages)) if index.passages[r].section_id not in exclude]
        if not others:
            raise InvalidInputError("training a reranker needs a collection of at least two sections")
        spare = [r for r in others if r not in chosen] or others  # a tiny collection repeats negatives
        chosen += rng.sample(spare, min(len(spare), n - len(chosen)))
        while len(chosen) < n:
            chosen.append(rng.choice(others))
    return chosen


def cut_span(text: str, span: tuple[int, int]) -> str:
    """The text without one sentence, its formatting otherwise kept.

    Positives and negatives must look alike: a positive re-joined from split sentences loses the newlines and
    bullet markers every negative keeps, and the model learns that instead of relevance (measured: reranker-alone
    hit@1 on the tune split fell from 0.69 to 0.50).
    """
    lines = (text[: span[0]] + text[span[1] :]).split("\n")
    kept = [" ".join(line.split()) for line in lines if strip_bullet(line) or not line.strip()]
    return "\n".join(kept).strip()
