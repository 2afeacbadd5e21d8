"""Sentence splitting shared by the chunker, context selection and answer verification; text normalisation."""

from __future__ import annotations

import re

import regex

# A full stop after a common abbreviation ends no sentence ("Local Minimum vs. Global Minimum", "see Fig. 3",
# "board Rev. C", "Dr. Smith", "Hu et al. (2021)"), nor "No." before a number; "etc." is left out of the list: it
# usually ends one.
_ABBREVIATIONS = "".join(
    rf"(?<!\b{re.escape(a)})"
    for a in (
        *("vs.", "Vs.", "e.g.", "i.e.", "cf.", "approx.", "Fig.", "Figs.", "Eq.", "Eqs.", "Sec.", "Rev."),
        *("Dr.", "Mr.", "Mrs.", "Ms.", "Prof.", "Jr.", "Vol.", "pp.", "Ref.", "Ch.", "al."),
    )
)
# Nor does a name's initial: a capital letter alone after a capitalised word, a line's start, a bracket or a dash
# ("Edward J. Hu", "“M. Mayank”", "summaries - N. Weber"); after a word in lower case it ends one ("drug B. The").
_INITIAL = r"(?<!(?:^|[(“\"'\-–—]\s?|\b[A-Z][\w'’-]*\s)[A-Z]\.)"
# `regex`, not `re`: the initial's lookbehind has no fixed width.
SENTENCE_END = regex.compile(rf"(?<=[.!?]){_ABBREVIATIONS}{_INITIAL}(?!(?<=\bNo\.)\s+\d)\s+(?=[A-Z0-9(\\\"'“\[])")
# A list item's marker: "-", "*", "1." and the bullets slides and word processors print ("–", "●", "○", "▪" …;
# U+F0B7 and U+F0A7 are Symbol and Wingdings bullets a PDF keeps as private-use characters)
_BULLET = re.compile(r"^\s*(?:[-*•–●○◦▪■►➢\uf0b7\uf0a7]|\d+[.)])\s+")
# A "sentence" longer than this is text without the usual capitals or punctuation (lower-case notes, a dump on
# one line): it is cut at any sentence end, then into runs of whole words, so no quote is a wall of text. The
# guide's longest sentence has 521 characters, so its sentences are unchanged.
MAX_SENTENCE_CHARS = 600
# "Attendees: Priya, Hana" under "Date: 2025-03-14, room Kepler": a field of its own, however the line before ends
LABEL = re.compile(r"^[A-Z][\w/&()' -]{0,30}: \S")
_ANY_END = re.compile(r"(?<=[.!?;])\s+")
_WORD = re.compile(r"\S+")


def normalise(text: str) -> str:
    """Lower case, whitespace runs as one space: for comparing headings or facts however they were spaced."""
    return " ".join(text.lower().split())


def strip_bullet(line: str) -> str:
    return _BULLET.sub("", line).strip()


def soft_breaks(lines: list[str], min_width: int = 0) -> list[bool]:
    """Whether each line continues the one before it, its line break only a wrap of the paragraph ("… stay for
    seven" / "years before deletion."): both hold text, the one before ends without a sentence end or colon (a
    closing quote or bracket after it too) and is no list item, heading, table row or quote. `min_width` (plain
    text, where nothing marks a paragraph): the one before is at least that long, and the line goes on mid-sentence
    (it opens in lower case, with a number, a bracket or a quote, or the one before ends with a comma or a word
    such as "by" that no sentence ends with; after a semicolon, in lower case); lines that open in capitals are
    otherwise a title and its text, or a list without bullets ("Install the agent from the mirror" / "Restart
    it")."""
    return [i > 0 and _continues(lines[i - 1], line, min_width) for i, line in enumerate(lines)]


def _continues(prev: str, line: str, min_width: int) -> bool:
    prev, line = prev.strip(), line.strip()
    if not prev or not line or _BULLET.match(line) or line.startswith(("#", "|", ">")):
        return False
    if min_width and prev.endswith(";") and line[0].islower() and len(prev) >= min_width:
        return True  # plain text: a clause after a semicolon goes on ("… at the next login;" / "backup codes …")
    if prev.rstrip("\"'”’)]").endswith((".", "!", "?", ":", ";")) or LABEL.match(line):
        return False
    if not min_width:
        return True
    goes_on = line[0].islower() or line[0] in '0123456789("“' or prev[-1] == "," or _open_word(prev)
    return len(prev) >= min_width and goes_on


# Words no sentence or title ends with: a line that ends with one goes on in the next, even when that one opens
# in capitals ("… can only be reset by a Tier 2 lead, never by" / "Tier 1.").
# fmt: off
_OPEN = frozenset({
    "a", "an", "the", "of", "to", "by", "for", "with", "in", "on", "at", "from", "into", "onto", "via", "per",
    "and", "or", "nor", "but", "than", "that", "which", "whose", "is", "are", "was", "were", "be", "been", "has",
    "have", "had", "will", "would", "can", "could", "should", "must", "its", "their", "our", "your", "his", "her",
})
# fmt: on


def _open_word(line: str) -> bool:
    return line.rsplit(None, 1)[-1] in _OPEN  # as written: "Portland, OR" and "Plan A" end a line


def unwrap(lines: list[str], soft: list[bool]) -> list[str]:
    """The lines with each soft-broken one joined to the one before it by a space: a paragraph on one line, so
    its sentences are whole (a line break is otherwise a sentence end)."""
    out: list[str] = []
    for line, joined in zip(lines, soft, strict=True):
        if joined and out:
            out[-1] = f"{out[-1].rstrip()} {line.strip()}"
        else:
            out.append(line)
    return out


def split_sentences(text: str) -> list[str]:
    """Sentences of a text: each line (bullet markers removed) split at sentence ends; blanks dropped."""
    out: list[str] = []
    for line in text.split("\n"):
        line = strip_bullet(line)
        for s in SENTENCE_END.split(line) if line else []:
            s = s.strip()
            out.extend(s[a:b] for a, b in _cuts(s))
    return out


def _cuts(sentence: str) -> list[tuple[int, int]]:
    """(start, end) of the pieces of a stripped sentence: itself, or an over-long one cut (MAX_SENTENCE_CHARS)."""
    if len(sentence) <= MAX_SENTENCE_CHARS:
        return [(0, len(sentence))] if sentence else []
    cuts: list[tuple[int, int]] = []
    start = 0
    for end in [m.start() for m in _ANY_END.finditer(sentence)] + [len(sentence)]:
        cuts += _word_runs(sentence, start, end)
        start = end
    return cuts


def _word_runs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Runs of whole words of text[start:end], each at most MAX_SENTENCE_CHARS long (a longer word alone)."""
    runs: list[tuple[int, int]] = []
    first = last = -1
    for m in _WORD.finditer(text, start, end):
        if first >= 0 and m.end() - first > MAX_SENTENCE_CHARS:
            runs.append((first, last))
            first = -1
        first = m.start() if first < 0 else first
        last = m.end()
    return runs + ([(first, last)] if first >= 0 else [])


FENCE = re.compile(r"^\s*(`{3,}|~{3,})")  # a Markdown code fence, indented too (in a list item)


def list_items(text: str) -> set[str]:
    """The list items and field lines of a text that are one sentence each ("- Worth 8% of the final grade",
    "Attendees: Priya Raman, Hana Sato, me"), as split_sentences() gives them: a slide's or a note's terse facts."""
    items: set[str] = set()
    for line in text.split("\n"):
        if (_BULLET.match(line) or is_field(line)) and len(pieces := split_sentences(line)) == 1:
            items.add(pieces[0])
    return items


def is_field(line: str) -> bool:
    """A "Label: value" line whose label is a word or two ("Attendees", "Due date"); a longer one is a run-in
    sub-heading ("Denoising Score Matching Loss: Equation and Intuition"), and an export's page properties
    ("Tags: Admin, Support", "Last edited: …") are about the page, not its subject."""
    label = line.split(":", 1)[0]
    return bool(LABEL.match(line)) and len(label.split()) <= 2 and label.lower() not in _PAGE_PROPERTIES


# fmt: off
_PAGE_PROPERTIES = frozenset({
    "tags", "tag", "aliases", "type", "category", "categories", "created", "updated", "modified", "last edited",
    "last modified", "last updated", "created by", "edited by",
})
# fmt: on


def fenced_sentences(text: str) -> set[str]:
    """The sentences of a text's fenced code (a Markdown fence that is closed again, fences included): code, an
    error message or a config line, never a statement to quote (a pasted error would be answered with itself)."""
    lines = text.split("\n")
    code: set[str] = set()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        end = next((j for j in range(i + 1, len(lines)) if closes_fence(lines[j], m.group(1))), None) if m else None
        if end is None:
            i += 1
            continue
        code.update(split_sentences("\n".join(lines[i : end + 1])))
        i = end + 1
    return code


def closes_fence(line: str, fence: str) -> bool:
    """Whether the line closes a code fence opened with `fence`: the same character, at least as many."""
    m = FENCE.match(line)
    return bool(m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line[m.end() :].strip())


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of a text, as split_sentences() splits them, over the raw text.

    A span keeps what split_sentences() drops (a line's bullet marker), so text[start:end] is the sentence as
    written and a run of spans can be cut out of the text with its formatting intact.
    """
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        last = 0
        marker = _BULLET.match(line)  # split_sentences() splits after it: "3. Air travel." is one sentence
        for cut in [*SENTENCE_END.finditer(line, marker.end() if marker else 0), None]:
            start, end = offset + last, offset + (cut.start() if cut else len(line))
            piece = text[start:end]
            if strip_bullet(piece):
                spans += _piece_spans(
                    text, start + len(piece) - len(piece.lstrip()), end - (len(piece) - len(piece.rstrip()))
                )
            if cut:
                last = cut.end()
        offset += len(line) + 1
    return spans


def ensure_text(s: str) -> str:
    """`s` unchanged when it is Unicode text; ValueError when it holds a lone surrogate.

    JSON (the escape \\ud800 alone) and undecodable bytes from argv can carry lone surrogates. They are not text:
    neither the tokenizer nor a UTF-8 encoder (a response, a log) takes them."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains a lone surrogate escape (not valid Unicode text)") from None
    return s


def counted(n: int, noun: str) -> str:
    """A count in words: "1 section", "3 sections" (a regular plural)."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _piece_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The spans of one stripped piece, cut as split_sentences() cuts it; the first keeps its bullet marker."""
    body = start + len(text[start:end]) - len(_BULLET.sub("", text[start:end]))
    spans = [(body + a, body + b) for a, b in _cuts(text[body:end])]
    return [(start, spans[0][1]), *spans[1:]] if spans else []
