"""A PDF page's lines as text: print furniture (running headers and footers, page numbers) found and left out,
footnote markers and notes told apart, and visual lines joined into whole sentences. Pure functions over the
lines pypdf extracts (corpus.formats.pdf reads the file)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from corpus.english import english_words
from corpus.formats.blocks import clean_lines
from corpus.text import LABEL, normalise, strip_bullet

_ENDS_SENTENCE = re.compile(r"[.!?:]$")
# A page number alone on its line, digits already written "#" (furniture_key): "3", "- 3 -", "Page 3 of 4", "3/4".
_PAGE_NUMBER = re.compile(r"^(?:page\s*)?[-–—]?\s*#\s*[-–—]?(?:\s*(?:of|/)\s*#)?$")
# Lines at a page's top and at its bottom where headers, footers and page numbers sit (a slide's footer is often
# three boxes: the date, the course, the slide number).
EDGE_LINES = 3
# A footnote marker: a number of 1-2 digits (or *, †, ‡) set this much smaller than the page's body text; it is
# dropped only when the page's foot holds a note of that number (else it may be an exponent: "10⁶", "m²").
MARKER_RATIO = 0.8
# Footnote text is set smaller than the body, though not by much (Word: 10 pt under 11 pt).
NOTE_RATIO = 0.92
_MARKER = re.compile(r"^(?:\d{1,2}(?:,\d{1,2})*|[*†‡])$")
_NOTE_START = re.compile(r"^(\d{1,2}|[*†‡])(?:\s+|(?=[A-Z]))(\S.*)$")  # "1 Three …", "1Three …" (LaTeX)
Marker = tuple[int, int, str]  # a footnote marker's line on its page, its column there, and its text ("3")


def markers_of(runs: list[tuple[str, float, bool]]) -> list[Marker]:
    """The runs that may be footnote markers: a number (or *, †, ‡) set clearly smaller than the page's body text
    and glued to the text before it ("network" "1", "256" "2")."""
    body = body_size([run for run, _, _ in runs], [size for _, size, _ in runs])
    found: list[Marker] = []
    last, line, col = "", 0, 0  # the last character so far, and where the next run starts
    for run, size, _ in runs:
        if last and not last.isspace() and _MARKER.match(run) and 0 < size <= MARKER_RATIO * body:
            found.append((line, col, run))
        if "\n" in run:
            line, col = line + run.count("\n"), len(run) - run.rfind("\n") - 1
        else:
            col += len(run)
        last = (last + run)[-1:]
    return found


def unmarked(line: str, markers: list[Marker], noted: set[str]) -> str:
    """The line without its footnote markers whose notes are at the page's foot (right to left, so the columns of
    the others hold): "a batch size of 2562" -> "a batch size of 256" when note 2 is there."""
    for _, col, mark in sorted(markers, key=lambda m: -m[1]):
        if noted & set(mark.split(",")) and line[col : col + len(mark)] == mark:
            line = line[:col] + line[col + len(mark) :]
    return line


def body_size(lines: Sequence[str], sizes: Sequence[float | None]) -> float:
    """The font size most characters are set in (0 when no size is known)."""
    chars: Counter[float] = Counter()
    for text, size in zip(lines, sizes, strict=True):
        if size:
            chars[round(size, 1)] += len(text.strip())
    return chars.most_common(1)[0][0] if chars else 0.0


_TOC_TITLE = re.compile(r"^\s*(?:table of )?contents\s*$", re.IGNORECASE)


def contents_lines(page: list[str]) -> set[int]:
    """The indexes of a page's table of contents: its dot-leader entries, and its "Contents" title when they follow
    it. A printed TOC is no text to quote ("5 4.1 Feature scaling ........"), and its title would otherwise head
    every numbered section of the document."""
    entries = {i for i, line in enumerate(page) if _toc_entry(line)}
    if len(entries) < 2:
        return set()
    return entries | {i for i, line in enumerate(page) if _TOC_TITLE.match(line) and i < max(entries)}


def _toc_entry(line: str) -> bool:
    """A contents entry: words, a run of four dots or more (spaced or not), a page number: "1.2 Gradient descent
    ........ 4". String operations, not a regex: a line of dots alone took seconds to match."""
    head = line.rstrip()
    number = head.rstrip("0123456789")
    if number == head:
        return False
    words = number.rstrip(" .")
    return number[len(words) :].count(".") >= 4 and bool(words.strip())


def furniture_key(line: str) -> str:
    """A line as its furniture: spacing and case ignored, every number written "#" ("Page 2 of 4" = "page # of #")."""
    return re.sub(r"\d+", "#", normalise(line))


def furniture(pages: list[list[str]]) -> list[set[int]]:
    """Per page, the indexes of its lines that are print furniture, among the first and last EDGE_LINES lines with
    text: the same line on (nearly) every page, at least on every page of a short document and on three and 40 %
    of a long one (a running header: "Acme Corp - Employee Handbook"); a line that holds the page's number and
    recurs, numbers aside, on other pages ("Page 2 of 4", "Doc. ZPX-40 | 3"); a page number alone ("3", "- 3 -").
    Page numbers may run behind the page count by a fixed offset (an unnumbered cover)."""
    edges = [_edge_lines(page) for page in pages]
    offset = _page_offset(pages, edges)
    exact: Counter[str] = Counter()
    numbered: Counter[str] = Counter()
    for n, (page, at) in enumerate(zip(pages, edges, strict=True), start=1):
        exact.update({normalise(page[i]) for i in at})
        numbered.update({furniture_key(page[i]) for i in at if _numbers(page[i], n - offset)})
    need = len(pages) if len(pages) <= 3 else max(3, math.ceil(0.4 * len(pages)))
    out = []
    for n, (page, at) in enumerate(zip(pages, edges, strict=True), start=1):
        out.append(
            {
                i
                for i in at
                if (len(pages) > 1 and exact[normalise(page[i])] >= need)
                or (_numbers(page[i], n - offset) and numbered[furniture_key(page[i])] >= 2)
                or (_PAGE_NUMBER.match(furniture_key(page[i])) and _numbers(page[i], n - offset))
            }
        )
    return out


def _numbers(line: str, page: int) -> bool:
    """Whether the line holds that page number as one of its numbers."""
    return str(page) in re.findall(r"\d+", line)


def _page_offset(pages: list[list[str]], edges: list[list[int]]) -> int:
    """How far the printed page numbers run behind the pages (0, or 1 after an unnumbered cover): the most common
    difference between a page's index and a lone number at its edge, when two pages or more agree on it."""
    seen: Counter[int] = Counter()
    for n, (page, at) in enumerate(zip(pages, edges, strict=True), start=1):
        for i in at:
            if _PAGE_NUMBER.match(furniture_key(page[i])):
                seen[n - int(re.findall(r"\d+", page[i])[0])] += 1
    common = seen.most_common(1)
    return common[0][0] if common and common[0][1] >= 2 else 0


def _edge_lines(page: list[str]) -> list[int]:
    filled = [i for i, line in enumerate(page) if line.strip()]
    return sorted(set(filled[:EDGE_LINES] + filled[-EDGE_LINES:]))


def footnote_lines(page: list[str], sizes: list[float | None], body: float, marked: set[str]) -> list[int]:
    """The page's footnotes: the lines at its foot set smaller than the body text, from the first one that opens
    with the number of a marker on the page ("1 Three convolutional layers …" under "network¹"); empty when the
    foot holds none (a small table at the foot is not taken for notes: nothing on the page points at it)."""
    foot: list[int] = []
    for i in range(len(page) - 1, -1, -1):
        if not page[i].strip():
            continue
        if not body or not sizes[i] or sizes[i] > NOTE_RATIO * body:  # type: ignore[operator]
            break
        foot.insert(0, i)
    while foot and not _noted(page[foot[0]], marked):
        foot.pop(0)
    return foot


def _noted(line: str, marked: set[str]) -> bool:
    start = _NOTE_START.match(line.strip())
    return start is not None and start.group(1) in marked


def footnotes(lines: list[str]) -> list[tuple[str, str]]:
    """Footnote lines as (marker, one paragraph per note, its marker said: "Footnote 1: Three convolutional …")."""
    notes: list[tuple[str, str]] = []
    for line in clean_lines(lines):
        start = _NOTE_START.match(line)
        if start:
            notes.append((start.group(1), f"Footnote {start.group(1)}: {start.group(2)}"))
        elif notes:
            notes[-1] = (notes[-1][0], join_lines(notes[-1][1], line))
    return notes


def continues(before: str, line: str) -> bool:
    """Whether `line` goes on with the sentence `before` left open (it opens in lower case, no list item)."""
    return not _ENDS_SENTENCE.search(before) and line[:1].islower() and strip_bullet(line) == line


def reflow(lines: list[str]) -> list[str]:
    """Join the visual lines of a PDF into paragraphs (a line that ends a sentence ends its paragraph, a list item
    starts one), undoing end-of-line hyphenation, so sentences are whole for the chunker and the evidence scorer."""
    out: list[str] = []
    for line in lines:
        # a field of its own ("Dataset: Capital Bikeshare 2011-2012") under another is no wrapped sentence
        if out and not _ENDS_SENTENCE.search(out[-1]) and strip_bullet(line) == line and not LABEL.match(line):
            out[-1] = join_lines(out[-1], line)
        else:
            out.append(line)
    return out


def join_lines(before: str, line: str) -> str:
    """Two visual lines as one. A word broken at the line end is mended ("configu-" "ration" -> "configuration")
    unless its halves are words of their own and the whole is none ("self-" "cleaning" -> "self-cleaning") or it
    was a compound already ("state-of-the-" "art"); a hyphen before a number or a capital stays ("PX-" "40")."""
    if not before.endswith("-") or before.endswith(" -"):
        return f"{before} {line}"
    first = re.split(r"\s", before[:-1])[-1].lstrip("\"'“‘([")
    second = re.match(r"[^\s.,;:!?)\]\"'”’]*", line).group(0)  # type: ignore[union-attr]
    if not line[:1].islower():
        return before + line
    words = english_words()
    whole = (first + second).lower()
    compound = "-" in first or "-" in second  # "state-of-the-" "art", "up-" "to-date"
    keep = compound or (whole not in words and first.lower() in words and second.lower() in words)
    return before + line if keep else before[:-1] + line
