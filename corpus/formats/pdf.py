"""PDF: text per page with pypdf; sections from the outline (bookmarks) when the PDF has one, else from headings
set in a clearly larger font than the body text or in bold at the body's size, else one per page.

A section never spans pages, so every passage keeps the page its text is on: a heading whose text runs over a
page break becomes one section per page (same heading, same path, ids -2, -3 ...); a sentence cut by the break
stays whole, on the page where it starts.

What is print furniture rather than text is left out (`pdf_text.furniture`): running headers, footers and page
numbers ("Page 2 of 4", "- 3 -"); a footnote's marker (a small raised number glued to a word: "network¹") is
dropped from the sentence when the page's foot holds its note, and the note becomes a paragraph of its own
("Footnote 1: …") at the end of the section its marker is in.
"""

from __future__ import annotations

import io
import logging
import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from corpus.errors import InvalidInputError
from corpus.formats.blocks import Block, clean_lines, document_from_blocks
from corpus.formats.pdf_forms import form_values
from corpus.formats.pdf_tables import Run, cells, with_tables
from corpus.formats.pdf_text import (
    Marker,
    body_size,
    contents_lines,
    continues,
    footnote_lines,
    footnotes,
    furniture,
    join_lines,
    markers_of,
    reflow,
    unmarked,
)
from corpus.model import Document
from corpus.text import SENTENCE_END, normalise

# pypdf logs every repaired cross-reference table; a user sees the one-line result instead.
logging.getLogger("pypdf").setLevel(logging.ERROR)
_NUMBERED = re.compile(r"^(?:\d+\.)*\d+\.?\s+")  # a section number before a heading: "1 ", "2.1 ", "3. "

Line = tuple[int, str]  # (1-based page, text)
# A line is a heading when its font is at least this much larger than the body text's (the size most characters
# are set in), it is short and it does not end a sentence.
HEADING_RATIO = 1.2
HEADING_MAX_CHARS = 120


def parse_pdf(data: bytes, name: str, id_prefix: str = "") -> Document:
    pages, outline, title = _read(data)
    sizes = [size for _, line_sizes, _, _ in pages for size in line_sizes]
    bold = [b for _, _, line_bold, _ in pages for b in line_bold]
    lines, notes = _page_lines(pages, sizes)
    if not any(line.strip() for _, line in lines) and not notes:
        raise InvalidInputError("the PDF has no extractable text (a scanned PDF needs OCR first)")
    title = title or Path(name).stem
    if outline:
        blocks = _outline_blocks(lines, outline, title)
    else:
        heads = heading_lines([text for _, text in lines], sizes, bold)
        blocks = _font_blocks(lines, heads, title) if heads else _page_blocks(lines, title)
    doc = document_from_blocks(_with_notes(blocks, notes), name, id_prefix)
    if not doc.sections:
        raise InvalidInputError("the PDF has no extractable text")
    return doc


def _page_lines(pages: list[PageText], sizes: list[float | None]) -> tuple[list[Line], list[Note]]:
    """Every page's lines with its furniture and footnotes blanked (so line indexes still match `sizes`) and its
    notes' markers taken out, and the footnotes."""
    texts = [text.split("\n") for text, _, _, _ in pages]
    body = body_size([line for page in texts for line in page], sizes)
    lines: list[Line] = []
    notes: list[Note] = []
    for n, (page, gone, (_, _, _, markers)) in enumerate(zip(texts, furniture(texts), pages, strict=True), start=1):
        gone = gone | contents_lines(page)
        page = ["" if i in gone else line for i, line in enumerate(page)]
        marked = {m for _, _, mark in markers for m in mark.split(",")}
        at = footnote_lines(page, sizes[len(lines) : len(lines) + len(page)], body, marked)
        found = footnotes([page[i] for i in at])
        where = {m: line for line, _, mark in markers for m in mark.split(",")}
        notes += [(n, len(lines) + where[mark] if mark in where else None, note) for mark, note in found]
        noted = {mark for mark, _ in found}
        for i, line in enumerate(page):
            mine = [m for m in markers if m[0] == i]
            lines.append((n, "" if i in at else unmarked(line, mine, noted) if mine else line))
    return lines, notes


# A page's text, each line's font size, whether all of the line is bold, and its footnote markers.
PageText = tuple[str, list[float | None], list[bool], list[Marker]]
Note = tuple[int, int | None, str]  # (page, index in all lines of the line its marker was on, or None; its text)


def _read(data: bytes) -> tuple[list[PageText], list[tuple[int, str, tuple[str, ...]]], str]:
    """Page texts with their lines' font sizes and boldness, outline entries (1-based page, title, path) and the
    metadata title."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InvalidInputError(
                "the PDF is encrypted with a password: save a copy without it first, e.g. "
                "qpdf --password=PASSWORD --decrypt FILE.pdf FILE-open.pdf"
            )
        pages = [_page_text(page) for page in reader.pages]
        if pages and (filled := form_values(reader.get_fields() or {})):
            pages[-1] = _with_lines(pages[-1], filled)
        outline = _flatten(reader, reader.outline) if reader.outline else []
        title = str((reader.metadata or {}).get("/Title") or "").strip()
    except InvalidInputError:
        raise
    except Exception as exc:  # pypdf raises many kinds (PdfReadError, ValueError, KeyError ...) for one cause
        raise InvalidInputError(f"not a readable PDF ({exc.__class__.__name__}: {_short(exc)})") from None
    return pages, outline, title


def _page_text(page: Any) -> PageText:
    """The page's text, the font size of each of its lines (the largest of the line; None when unknown) and
    whether each line is set in bold throughout.

    pypdf hands each run of text to the visitor with its font and size and matrices, in the order of the text it
    returns; when they do not add up to that text the sizes are unknown rather than guessed."""
    runs: list[tuple[str, float, bool]] = []
    starts: list[float] = []  # where each run starts across the page

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        runs.append((text, float(size or 0) * _scale(tm) * _scale(cm), _bold(font)))
        starts.append(tm[4] * cm[0] + tm[5] * cm[2] + cm[4] if len(tm) == 6 and len(cm) == 6 else 0.0)

    text = page.extract_text(visitor_text=visit) or ""
    if "".join(t for t, _, _ in runs) != text:
        return text, [None] * (text.count("\n") + 1), [False] * (text.count("\n") + 1), []
    sizes: list[float | None] = []
    bold: list[bool] = []
    line_runs: list[list[Run]] = [[]]
    current, all_bold = 0.0, True
    for (run, size, run_bold), x in zip(runs, starts, strict=True):
        for i, part in enumerate(run.split("\n")):
            if i:
                sizes.append(current or None)
                bold.append(bool(current) and all_bold)
                line_runs.append([])
                current, all_bold = 0.0, True
            if part.strip():
                current, all_bold = max(current, size), all_bold and run_bold
                line_runs[-1].append((part, x, size))
    sizes.append(current or None)
    bold.append(bool(current) and all_bold)
    text, bold = _tabled(text, sizes, bold, line_runs)
    return text, sizes, bold, markers_of(runs)


def _tabled(
    text: str, sizes: list[float | None], bold: list[bool], line_runs: list[list[Run]]
) -> tuple[str, list[bool]]:
    """The page's text with its tables spelled out row by row (corpus.formats.pdf_tables), and each line's boldness:
    a rewritten line is no longer bold (a table's bold header row is no heading)."""
    lines = text.split("\n")
    body = body_size(lines, sizes)
    if not body:
        return text, bold
    out = with_tables(lines, [cells(r) for r in line_runs], bold, body)
    return "\n".join(out), [b and before == after for b, before, after in zip(bold, lines, out, strict=True)]


def _with_lines(page: PageText, lines: list[str]) -> PageText:
    """The page with lines of text added at its end (their font sizes unknown)."""
    text, sizes, bold, markers = page
    return (
        "\n".join([text, *lines]),
        sizes + [None] * len(lines),
        bold + [False] * len(lines),
        markers,
    )


def _bold(font: Any) -> bool:
    """Whether a run's font is a bold face, by its name ("/Helvetica-Bold", "/ABCDEF+Calibri-Bold")."""
    try:
        name = str(font.get("/BaseFont", "")) if font is not None else ""
    except AttributeError:
        return False
    return any(w in name.lower() for w in ("bold", "black", "heavy", "semibold"))


def _scale(matrix: list[float]) -> float:
    """The vertical scale of a PDF matrix [a b c d e f]: a font of size s is drawn s × this high."""
    return math.hypot(matrix[2], matrix[3]) if matrix and len(matrix) >= 4 else 1.0


def heading_lines(lines: list[str], sizes: list[float | None], bold: list[bool] | None = None) -> dict[int, float]:
    """Line index -> font size, for the short lines not ending in a period that are set clearly larger than the
    body text (HEADING_RATIO × the size most characters have), or in bold throughout at about the body's size
    (a Word document's sub-headings; their level sits below every larger heading's); empty when the PDF shows
    no such cue."""
    body = body_size(lines, sizes)
    if not body:
        return {}
    heads = {}
    for i, (text, size) in enumerate(zip(lines, sizes, strict=True)):
        if not size or not _heading_like(text.strip()):
            continue
        if size >= HEADING_RATIO * body:
            heads[i] = round(size, 1)
        elif bold and bold[i] and size >= 0.95 * body:
            heads[i] = round(body, 1) + 0.01  # the level under the smallest larger font
    return heads


def _with_notes(blocks: list[Block], notes: list[Note]) -> list[Block]:
    """Each footnote at the end of the block its marker is in (the last block that starts on or before the
    marker's line, on its page), else of the page's last block."""
    out = list(blocks)
    for page, line, note in notes:
        on_page = [i for i, b in enumerate(out) if b.page == page]
        before = [i for i in on_page if line is not None and out[i].start_line <= line + 1]
        if on_page:
            i = before[-1] if before else on_page[-1]
            out[i] = replace(out[i], lines=[*out[i].lines, note])
    return out


def _heading_like(text: str) -> bool:
    """Short, not a sentence (a full stop) nor a form's label ("Team name:"), and holding a word."""
    return 0 < len(text) <= HEADING_MAX_CHARS and not text.endswith((".", ":")) and any(c.isalpha() for c in text)


def _font_blocks(lines: list[Line], heads: dict[int, float], title: str) -> list[Block]:
    """Each heading line starts a block that runs to the next; larger fonts are higher levels of the heading path;
    a heading over two lines (consecutive lines of one size) is one heading."""
    levels = {size: n for n, size in enumerate(sorted(set(heads.values()), reverse=True))}
    starts: list[tuple[int, int, str, float]] = []  # (heading line, body start, heading, size)
    for i in sorted(heads):
        text = " ".join(lines[i][1].split())
        if starts and starts[-1][1] == i and starts[-1][3] == heads[i] and lines[i][0] == lines[starts[-1][0]][0]:
            at, _, previous, size = starts.pop()
            starts.append((at, i + 1, f"{previous} {text}", size))
        else:
            starts.append((i, i + 1, text, heads[i]))
    blocks = _split_pages(lines[: starts[0][0]], title, (title,), 1)
    stack: list[tuple[int, str]] = []  # (level, heading) of the open headings
    for j, (at, body, heading, size) in enumerate(starts):
        while stack and stack[-1][0] >= levels[size]:
            stack.pop()
        stack.append((levels[size], heading))
        end = starts[j + 1][0] if j + 1 < len(starts) else len(lines)
        blocks.extend(_split_pages(lines[body:end], heading, tuple(h for _, h in stack), at + 1))
    return blocks


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:80] + ("…" if len(text) > 80 else "")


def _flatten(reader: Any, items: list[Any], parents: tuple[str, ...] = ()) -> list[tuple[int, str, tuple[str, ...]]]:
    """pypdf's outline is a list where a nested list holds the children of the entry before it."""
    out: list[tuple[int, str, tuple[str, ...]]] = []
    last: str | None = None
    for item in items:
        if isinstance(item, list):
            out.extend(_flatten(reader, item, (*parents, last) if last else parents))
            continue
        title = " ".join(str(item.title).split())
        try:
            page = reader.get_destination_page_number(item)
        except Exception:  # a bookmark that points nowhere: its title still names its children
            page = None
        last = title
        if title and page is not None and page >= 0:
            out.append((page + 1, title, (*parents, title)))
    return out


def _outline_blocks(lines: list[Line], outline: list[tuple[int, str, tuple[str, ...]]], title: str) -> list[Block]:
    """Each bookmark starts a block at its title's line on its page (or at the page's top when the title is not
    found there); the block runs to the next bookmark."""
    first_line = {}
    for i, (page, _) in enumerate(lines):
        first_line.setdefault(page, i)
    starts: list[tuple[int, int, str, tuple[str, ...]]] = []  # (heading line or -1, body start, title, path)
    cursor = 0
    for page, heading, path in sorted(outline, key=lambda e: e[0]):
        lo = max(cursor, first_line.get(page, len(lines)))
        at = next((i for i in range(lo, len(lines)) if lines[i][0] == page and _titles(lines[i][1], heading)), None)
        body = at + 1 if at is not None else lo
        starts.append((at if at is not None else lo, body, heading, path))
        cursor = body
    blocks = _split_pages(lines[: starts[0][0]], title, (title,), 1) if starts else []
    for j, (at, body, heading, path) in enumerate(starts):
        end = starts[j + 1][0] if j + 1 < len(starts) else len(lines)
        blocks.extend(_split_pages(lines[body:end], heading, path, at + 1))
    return blocks


def _titles(line: str, heading: str) -> bool:
    """Whether a line is a bookmark's title on the page, maybe with the section number the bookmark leaves out
    (Word exports "Scope" for the "1 Scope" on the page)."""
    line, heading = normalise(line), normalise(heading)
    return bool(heading) and (line == heading or _NUMBERED.sub("", line) == heading)


def _page_blocks(lines: list[Line], title: str) -> list[Block]:
    """No outline: one block per page, named by the document and the page."""
    blocks = []
    for page in dict.fromkeys(p for p, _ in lines):
        heading = f"{title}, page {page}"
        blocks.extend(_split_pages([ln for ln in lines if ln[0] == page], heading, (title, heading), 1))
    return blocks


def _split_pages(lines: list[Line], heading: str, path: tuple[str, ...], start_line: int) -> list[Block]:
    """One block per page of the lines; a sentence that runs over a page break is finished on its first page."""
    blocks: list[Block] = []
    for page in dict.fromkeys(p for p, _ in lines):
        body = reflow(clean_lines([text for p, text in lines if p == page]))
        if blocks and blocks[-1].lines and body and continues(blocks[-1].lines[-1], body[0]):
            head, *rest = SENTENCE_END.split(body[0], maxsplit=1)
            blocks[-1].lines[-1] = join_lines(blocks[-1].lines[-1], head)
            body = rest + body[1:]
        blocks.append(Block(heading, path, body, start_line, page=page))
    return blocks
