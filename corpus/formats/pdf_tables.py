"""Tables in a PDF's text: rows of cells set apart by wide gaps, read as HTML and Markdown tables are, one line per
row that says what each cell is ("Tenure: 2 to 5 years; Annual leave (days): 27."). Without this a table was one
run of words glued to the paragraph after it, and its bold header row a section heading.

A line's cells come from where pypdf's text runs start on the page: a run that starts well past where the one
before it ends (more than GAP_EM font sizes) starts a cell, and so does text after three spaces or more inside a
run (a generator that pads its cells). A table is at least MIN_ROWS consecutive lines with
the same number of cells (two or more) starting at the same places, each cell short (a two-column page's prose
lines are long); its first line is its header when it is set in bold, or holds words over rows of numbers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from corpus.markdown import row_text

GAP_EM = 1.5  # a gap this many font sizes wide between two runs of one line separates two cells
CHAR_EM = 0.6  # a generous width of a character, in font sizes: a run's end is estimated from its length
MIN_ROWS = 3  # a header and two rows, or three rows
MAX_CELL_WORDS = 8
ALIGN_EM = 1.0  # a column's cells start within this many font sizes of each other

Run = tuple[str, float, float]  # text, x where it starts, font size
Cell = tuple[float | None, str]  # where it starts (None: within a run, unknown), its text


def cells(runs: Sequence[Run]) -> list[Cell]:
    """A line's cells as (x where it starts, text): one cell for a line set in one go, several when runs start
    far past the end of the one before or a run pads its cells with spaces."""
    out: list[Cell] = []
    end = None
    for text, x, size in runs:
        if not text.strip():
            continue
        if out and end is not None and x - end <= GAP_EM * size:
            out[-1] = (out[-1][0], out[-1][1] + text)
        else:
            out.append((x, text))
        end = x + CHAR_EM * size * len(text)
    split: list[Cell] = []
    for x, text in out:
        parts = [part for part in re.split(r"\s{3,}", text.strip()) if part]
        split += [(x if n == 0 else None, " ".join(part.split())) for n, part in enumerate(parts)]
    return split


def _aligned(a: list[Cell], b: list[Cell], size: float) -> bool:
    if len(a) != len(b):
        return False
    close = [xa is None or xb is None or abs(xa - xb) <= ALIGN_EM * size for (xa, _), (xb, _) in zip(a, b, strict=True)]
    return all(close)


def _header(rows: list[list[Cell]], bold: bool) -> list[str]:
    """The first row's cells when it is a header: set in bold, or words over rows that all hold numbers."""
    first = [text for _, text in rows[0]]
    numbers = [any(ch.isdigit() for _, text in row for ch in text) for row in rows]
    return first if bold or (not numbers[0] and all(numbers[1:])) else []


def _table_like(row: list[Cell]) -> bool:
    return len(row) >= 2 and all(len(text.split()) <= MAX_CELL_WORDS for _, text in row)


def with_tables(lines: list[str], rows: list[list[Cell]], bold: list[bool], size: float) -> list[str]:
    """The page's lines with each table spelled out row by row (corpus.markdown.row_text); a header row names the
    cells and leaves its own line blank. `rows`: each line's cells; `size`: the body's font size."""
    out = list(lines)
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and _table_like(rows[j]) and (j == i or _aligned(rows[i], rows[j], size)):
            j += 1
        if j - i >= MIN_ROWS:
            header = _header(rows[i:j], bold[i])
            if header:
                out[i] = ""
            for k in range(i + 1 if header else i, j):
                out[k] = row_text(header, [text for _, text in rows[k]])
            i = j
        else:
            i += 1
    return out
