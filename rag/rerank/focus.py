"""What the cross-encoder reads of a passage: its heading, then the part of its body that fits and matters."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from corpus.text import sentence_spans
from index.lexical import tokenize

TokenCounter = Callable[[Sequence[str]], list[int]]  # word pieces per text, special tokens not counted


def pair_text(heading: str, text: str) -> str:
    """What the cross-encoder reads of a passage: its heading, then its body."""
    if not heading or not text:
        return heading or text
    return f"{heading}\n{text}"


def focus(question: str, heading: str, text: str, count: TokenCounter, max_length: int) -> str:
    """Heading + the run of sentences around the one sharing most (stemmed) terms with the question.

    A (question, heading + passage) pair is cut at max_length word pieces, and a passage alone can be longer:
    plain truncation drops the end of the passage, which is where a detail question's answer often is. So a
    passage that does not fit is narrowed to the sentences that best match the question, grown both ways
    while they fit. Only scoring narrows: training on narrowed documents measured worse (rag.rerank.train).
    """
    if not text:
        return heading
    spans = sentence_spans(text)
    budget = max_length - 4 - sum(count([question, heading] if heading else [question]))  # 4: CLS, SEP x2, \n
    lengths = count([text[a:b] for a, b in spans]) if spans else []
    if not spans or sum(lengths) <= budget:
        return pair_text(heading, text)
    terms = set(tokenize(question))
    overlap = [len(terms.intersection(tokenize(text[a:b]))) for a, b in spans]
    best = max(range(len(spans)), key=lambda i: (overlap[i], -i))
    lo, hi = _grow(lengths, best, budget)
    return pair_text(heading, text[spans[lo][0] : spans[hi][1]])  # as written: the model was trained on raw text


def _grow(lengths: list[int], best: int, budget: int) -> tuple[int, int]:
    """The widest run of sentences around `best` within budget, taking one more on each side per round."""
    lo = hi = best
    used = lengths[best]
    grew = True
    while grew:
        grew = False
        if hi + 1 < len(lengths) and used + lengths[hi + 1] <= budget:
            hi += 1
            used += lengths[hi]
            grew = True
        if lo > 0 and used + lengths[lo - 1] <= budget:
            lo -= 1
            used += lengths[lo]
            grew = True
    return lo, hi
