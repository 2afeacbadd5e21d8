"""Split sections into passages that fit the embedding model's window, counted in its own tokens.

Pure: the token counter is passed in, so the chunker neither loads a model nor cares which one it is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from corpus.ids import doc_prefix
from corpus.model import Passage, Section, passage_title
from corpus.text import SENTENCE_END

TokenCounter = Callable[[str], int]
# The share of a long document's sections under one top heading that makes it the title (titled_documents).
TITLE_SHARE = 0.9


@dataclass(frozen=True)
class ChunkConfig:
    window: int = 256  # the model's limit in word pieces, special tokens included
    max_tokens: int = 200  # target passage size (heading + body), below the window
    overlap_tokens: int = 40  # body tokens repeated from the end of the previous passage
    special_tokens: int = 2  # [CLS] and [SEP]

    @property
    def version(self) -> str:
        """Recorded in the index manifest: a change here (or in corpus.text.SENTENCE_END, which cuts long lines:
        v7 keeps "et al." and initials) means the index must be rebuilt."""
        return f"chunk-v7:{self.window}:{self.max_tokens}:{self.overlap_tokens}"


def chunk_sections(
    sections: Iterable[Section], count_tokens: TokenCounter, config: ChunkConfig | None = None
) -> list[Passage]:
    """The passages of whole documents' sections (a document's title is found among its sections)."""
    cfg = config or ChunkConfig()
    sections = list(sections)
    titled = titled_documents(sections)
    return [p for s in sections for p in chunk_section(s, count_tokens, cfg, doc_prefix(s.id) in titled)]


def titled_documents(sections: list[Section]) -> set[str]:
    """The documents whose sections sit under one top heading: the document's title ("BrewMaster X7 Manual"),
    which the passages then carry, or a question naming the product finds only the introduction under it. A
    closing slide in the title's font ("Questions?") is a top heading of its own: one section (or one in ten)
    outside the title leaves it the title, or no slide of the deck would carry "Lecture 3" ("What is on the agenda
    for Lecture 3?" found the closing slide of Lecture 5). The guide's top headings are its parts, one for many
    sections each: carried, they cost its tune split 1 question of hit@1 and relevant citation 0.935 -> 0.924, so
    they are left out."""
    tops: dict[str, Counter[str]] = {}  # by document (its id prefix: two README.md files are two documents)
    for s in sections:
        tops.setdefault(doc_prefix(s.id), Counter())[s.heading_path[0] if s.heading_path else ""] += 1
    titled = set()
    for doc, counts in tops.items():
        top, n = counts.most_common(1)[0]
        total = counts.total()
        if top and (n == total or (total >= 3 and n >= min(TITLE_SHARE * total, total - 1))):
            titled.add(doc)
    return titled


def chunk_section(
    section: Section, count_tokens: TokenCounter, cfg: ChunkConfig, titled: bool = False
) -> list[Passage]:
    context = " › ".join(parents(section, titled))
    heading_cost = count_tokens(passage_title(context, section.heading)) + 1  # +1 for the newline's share
    limit = min(cfg.max_tokens, cfg.window - cfg.special_tokens) - heading_cost
    # A pathological heading longer than the window still yields passages; the embedder truncates the heading.
    limit = max(limit, 32)
    units = [(u, count_tokens(u)) for u in _units(section.text, count_tokens, limit)]
    windows = _pack(units, limit, cfg.overlap_tokens, count_tokens)
    if not windows:
        windows = [""]
    return [
        Passage(id=f"{section.id}#{i}", section_id=section.id, heading=section.heading, text=w, context=context)
        for i, w in enumerate(windows)
    ]


def parents(section: Section, titled: bool = False) -> tuple[str, ...]:
    """The headings a section sits under, below its category (which every section of that part shares) unless
    that is the document's title (`titled`)."""
    above = section.heading_path[:-1]
    return above[1:] if above and above[0] == section.category and not titled else above


def _units(text: str, count_tokens: TokenCounter, limit: int) -> Iterable[str]:
    """Lines, then sentences of over-long lines, then word runs of over-long sentences: never over `limit`."""
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        if count_tokens(line) <= limit:
            yield line
            continue
        for sentence in SENTENCE_END.split(line):
            if count_tokens(sentence) <= limit:
                yield sentence
            else:
                yield from _split_words(sentence, count_tokens, limit)


def _split_words(text: str, count_tokens: TokenCounter, limit: int) -> Iterable[str]:
    words = text.split()
    start = 0
    while start < len(words):
        # Grow the run greedily; bisect would be faster but runs this long are rare (formulas, code).
        end = start + 1
        while end < len(words) and count_tokens(" ".join(words[start : end + 1])) <= limit:
            end += 1
        yield " ".join(words[start:end])
        start = end


def _pack(units: list[tuple[str, int]], limit: int, overlap: int, count_tokens: TokenCounter) -> list[str]:
    """Greedy packing of units into windows; each new window starts with the last units of the previous one
    (up to `overlap` tokens) so a fact that straddles a boundary is whole in at least one passage."""
    windows: list[str] = []
    current: list[tuple[str, int]] = []
    size = 0
    for unit, n in units:
        if current and size + n + 1 > limit:
            windows.append("\n".join(u for u, _ in current))
            current = _carry(current, overlap, limit - n - 1, count_tokens)
            size = sum(m + 1 for _, m in current)
        current.append((unit, n))
        size += n + 1
    if current:
        windows.append("\n".join(u for u, _ in current))
    return windows


def _carry(window: list[tuple[str, int]], overlap: int, room: int, count_tokens: TokenCounter) -> list[tuple[str, int]]:
    """The tail of a finished window to repeat at the start of the next: whole units while they fit the
    overlap budget, else the last sentences of the last unit (long bullet lines are common in this corpus)."""
    budget = min(overlap, room)
    carried: list[tuple[str, int]] = []
    used = 0
    for unit, n in reversed(window):
        if used + n > budget:
            break
        carried.insert(0, (unit, n))
        used += n + 1
    if carried or not window:
        return carried
    tail: list[str] = []
    for sentence in reversed(SENTENCE_END.split(window[-1][0])):
        if count_tokens(" ".join([sentence, *tail])) > budget:
            break
        tail.insert(0, sentence)
    return [(" ".join(tail), count_tokens(" ".join(tail)))] if tail else []
