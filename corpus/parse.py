"""Turn a document's text into sections. Pure functions: text in, records out.

Three text formats (PDF and HTML: corpus.formats, which also picks the parser for a file):
- the guide format of the default corpus: a title, a table of contents of "- entry" lines (category names and
  question headings), then the body, where each TOC heading reappears on a line of its own;
- Markdown: `#` headings start sections, the nearest level-1 heading is the category;
- plain text without a TOC: one section per file (long ones become several passages when chunked).
"""

from __future__ import annotations

import hashlib
import re
from itertools import pairwise
from pathlib import Path

from corpus import markdown
from corpus.errors import InvalidInputError
from corpus.ids import unique_ids
from corpus.markdown_dialects import unwrap_containers
from corpus.model import Document, Section
from corpus.text import soft_breaks, unwrap

GUIDE_CATEGORIES = ("Deep Learning", "NLP", "Machine Learning", "Misc")
_NUMBERED = re.compile(r"^\s*(\d{1,3}(?:\.\d{1,3})+\.?|\d{1,3}[.)])\s+(\S.*)$")  # "3. Air travel. …", "3.1 Night"
# "Air travel. Employees …", "Night trains: a sleeper …"; not after "e.g." or "Dr." (a word of three letters ends it)
_RUN_IN_END = re.compile(r"(?<=[^\W\d_]{3}[.:])\s+")
_TITLE_WORDS = 8
_WRAP_WIDTH = 40  # a plain-text line this long without a sentence end is wrapped; a shorter one may be a list item
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_document(path: Path, id_prefix: str = "", max_bytes: int = MAX_DOCUMENT_BYTES) -> Document:
    """Read and parse a file of any supported format; errors name the file."""
    try:
        return load_file(path, id_prefix, max_bytes)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{path}: {exc}") from None


def load_file(path: Path, id_prefix: str = "", max_bytes: int = MAX_DOCUMENT_BYTES) -> Document:
    """read_document, with errors that say only what is wrong (the caller names the file)."""
    from corpus.formats import parse_bytes  # the format parsers build on this module's text parsers

    if not path.is_file():
        raise InvalidInputError("no such file")
    size = path.stat().st_size
    if size > max_bytes:
        raise InvalidInputError(f"{size:,} bytes, over the {max_bytes:,}-byte limit (max_document_bytes)")
    return parse_bytes(path.read_bytes(), path.name, id_prefix)


def file_sha256(path: Path) -> str:
    """The content hash a Document read from `path` carries, without parsing it."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def parse_text(text: str, name: str, id_prefix: str = "") -> Document:
    digest = sha256_text(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InvalidInputError("the document is empty")
    if name.lower().endswith((".md", ".markdown")):
        doc = parse_markdown(text, name, id_prefix)
    elif _toc_entries(text.split("\n")):
        doc = parse_guide(text, name, id_prefix)
    else:
        doc = parse_plain(text, name, id_prefix)
    doc.sha256 = digest  # of the text as given, so file_sha256 agrees with it
    return doc


def _toc_entries(lines: list[str]) -> list[str]:
    """The "- entry" block right after the title line, if the document opens with one."""
    entries: list[str] = []
    for line in lines[1:]:
        if not line.startswith("- "):
            break
        entries.append(line[2:])
    body = set(lines[1 + len(entries) :])
    # A real TOC: several entries, each of which reappears as a line in the body.
    if len(entries) >= 3 and all(e in body for e in entries):
        return entries
    return []


def parse_guide(text: str, name: str, id_prefix: str = "") -> Document:
    lines = text.split("\n")
    toc = _toc_entries(lines)
    if not toc:
        raise InvalidInputError(f"{name}: no table of contents found")
    body_start = 1 + len(toc)
    categories = {e for e in toc if e in GUIDE_CATEGORIES}

    # Walk the TOC in order, finding each entry's line in the body after the previous one, so a body line that
    # merely repeats a heading's words before its turn (or a sub-heading) is never mistaken for it.
    marks: list[tuple[int, str, bool]] = []  # (0-based line, text, is_category)
    cursor = body_start
    for entry in toc:
        try:
            at = lines.index(entry, cursor)
        except ValueError:
            raise InvalidInputError(f"{name}: TOC entry {entry!r} is not in the body") from None
        marks.append((at, entry, entry in categories))
        cursor = at + 1

    headings: list[tuple[int, int, str, str]] = []  # (start, end exclusive, heading, category)
    category = ""
    for i, (at, entry, is_cat) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else len(lines)
        if is_cat:
            category = entry
            # Text between a category line and its first TOC heading would otherwise be lost (the default
            # corpus has a "Machine Learning" block whose questions are missing from the TOC): its first
            # line becomes the heading of a section of its own.
            first = _first_nonblank(lines, at + 1, end)
            if first is not None:
                headings.append((first, end, lines[first].strip(), category))
            continue
        headings.append((at, end, entry, category))

    return _document(lines, headings, name, text, toc, id_prefix)


def parse_markdown(text: str, name: str, id_prefix: str = "") -> Document:
    """Sections at `#` and setext headings, over the text a reader sees (corpus.markdown: no inline markup, table
    rows spelled out, no front matter), line for line with the file."""
    raw, opens = unwrap_containers(text.split("\n"))
    lines = markdown.plain_lines(raw)
    found = markdown.headings(raw, lines)
    for at, _, _ in found:
        if not raw[at].lstrip().startswith("#"):
            lines[at + 1] = ""  # a setext heading's underline
    # A note without a top heading ("## Log", "## Todo" of 2025-03-10.md) has its title in its front matter or
    # its file name: every section sits under it, so a question naming the day or the page finds them.
    title = markdown.front_matter_title(raw) or Path(name).stem
    root = () if any(level == 1 for _, level, _ in found) else (title,)
    headings: list[tuple[int, int, str, str]] = []
    first = found[0][0] if found else len(lines)
    if _first_nonblank(lines, 0, first) is not None:
        headings.append((-1, first, title, ""))
    category = ""
    paths: list[tuple[str, ...]] = [(title,)] if headings else []
    stack: list[tuple[int, str]] = []  # (level, heading) of the open headings
    for j, (at, level, heading) in enumerate(found):
        end = found[j + 1][0] if j + 1 < len(found) else len(lines)
        if level == 1:
            category = heading
        headings.append((at, end, heading, category))
        stack = [(lv, h) for lv, h in stack if lv < level] + [(level, heading)]
        paths.append((*root, *(h for _, h in stack)))
    soft = markdown.soft_breaks(raw, lines, opens)
    doc = _document(lines, headings, name, text, [], id_prefix, paths, soft=soft)
    # A heading with nothing under it but sub-headings ("## Troubleshooting", then "### High memory usage") is no
    # section of its own, as in HTML and PDF: it lives on in its sub-sections' heading paths, which their
    # passages carry (corpus.chunk.parents), where it would otherwise be a passage of one word that outranks them.
    if any(s.text.strip() for s in doc.sections):
        doc.sections = [s for s in doc.sections if s.text.strip()]
    return doc


def parse_plain(text: str, name: str, id_prefix: str = "") -> Document:
    """One section, or, in a document of numbered paragraphs (a policy's "3. Air travel. Employees must …"), one
    per numbered paragraph, its number and run-in title the heading, so a rule is quoted and cited as part of
    the rule it belongs to; or, in a document headed in capitals (a runbook's "BACKGROUND", "RESETTING 2FA"), one
    per heading."""
    lines = text.split("\n")
    soft = soft_breaks(lines, min_width=_WRAP_WIDTH)
    numbered = _numbered_paragraphs(lines)
    found = numbered or _caps_headings(lines)
    if not found:
        return _document(lines, [(-1, len(lines), Path(name).stem, "")], name, text, [], id_prefix, soft=soft)
    starts = [at for at, _ in found] + [len(lines)]
    headings = [(at, starts[j + 1], heading, "") for j, (at, heading) in enumerate(found)]
    if _first_nonblank(lines, 0, starts[0]) is not None:  # a title and preamble before the first one
        headings.insert(0, (-1, starts[0], Path(name).stem, ""))
    # A numbered paragraph's number and run-in title are its first line; a heading in capitals is a line apart.
    return _document(lines, headings, name, text, [], id_prefix, run_in=bool(numbered), soft=soft)


def _numbered_paragraphs(lines: list[str]) -> list[tuple[int, str]]:
    """(line, heading) of each paragraph that opens with its number, when the document is made of them: three or
    more, after a blank line, counting up from 1 (3.1 belongs to 3). A tight numbered list (no blank line between
    its items) inside prose is not that; a loose one is, and the prose after it joins its last item."""
    found = [
        (i, m)
        for i, line in enumerate(lines)
        if (m := _NUMBERED.match(line)) and (i == 0 or not lines[i - 1].strip()) and not _decimal(m)
    ]
    tops = [int(m.group(1).split(".")[0].rstrip(")")) for _, m in found]
    if len(found) < 3 or tops[0] != 1 or any(b - a not in (0, 1) for a, b in pairwise(tops)):
        return []
    return [(i, f"{m.group(1)} {_run_in_title(m.group(2))}") for i, m in found]  # the number as written


def _caps_headings(lines: list[str]) -> list[tuple[int, str]]:
    """(line, heading) of each line in capitals that heads text: after a blank line or a rule, a line of text
    right under it that does not carry on its sentence; two or more of them (one shouted line is just text)."""
    found = []
    for i, line in enumerate(lines):
        before = lines[i - 1].strip() if i else ""
        after = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if _shouted(line) and (not before or _rule(before)) and after and not _rule(after) and not after[0].islower():
            found.append((i, line.strip()))
    return found if len(found) >= 2 else []


def _shouted(line: str) -> bool:
    """A short line in capitals, in any script ("RESETTING 2FA", "ÜBERSICHT"), no sentence end, not table
    columns ("ITEM        PRICE")."""
    text = line.strip()
    letters = [c for c in text if c.isalpha()]
    return (
        len(letters) >= 2
        and len(text) <= 60
        and text.upper() == text
        and not text.endswith((".", "!", "?"))
        and "  " not in text
    )


def _rule(line: str) -> bool:
    return set(line) <= set("=-*#~_")


def _decimal(m: re.Match[str]) -> bool:
    """ "1.5 million visitors came …" opens with a decimal number, not paragraph 1.5 (that is "1.5 Night trains")."""
    number, rest = m.group(1), m.group(2)
    return "." in number.rstrip(".") and not number.endswith(".") and rest[0].islower()


def _run_in_title(rest: str) -> str:
    """The paragraph's title: its first sentence when that is short ("Air travel."), else its first words."""
    first = _RUN_IN_END.split(rest, maxsplit=1)[0].strip()
    words = first.split()
    return first.rstrip(".:") if len(words) <= _TITLE_WORDS else " ".join(words[:_TITLE_WORDS]) + " …"


def _first_nonblank(lines: list[str], start: int, end: int) -> int | None:
    return next((i for i in range(start, end) if lines[i].strip()), None)


def _document(
    lines: list[str],
    headings: list[tuple[int, int, str, str]],
    name: str,
    text: str,
    toc: list[str],
    id_prefix: str,
    paths: list[tuple[str, ...]] | None = None,
    run_in: bool = False,
    soft: list[bool] | None = None,
) -> Document:
    """Build sections from (heading line, end, heading, category); heading line -1 means "no heading line".
    `paths`: each section's heading path (default: its category, when it has one, then its heading). `run_in`:
    a heading line is the first line of its section's text too (a numbered paragraph's title). `soft`: which
    lines only continue a wrapped paragraph (corpus.text.soft_breaks); a section's text has them joined."""
    ids = unique_ids([h for _, _, h, _ in headings], id_prefix)
    if paths is None:
        paths = [tuple(p for p in (category, heading) if p) for _, _, heading, category in headings]
    sections = []
    for sid, (at, end, heading, category), path in zip(ids, headings, paths, strict=True):
        first = at if run_in and at >= 0 else at + 1  # the section's first line of text
        body = "\n".join(unwrap(lines[first:end], soft[first:end]) if soft else lines[first:end]).strip("\n")
        # Trailing blank lines are not part of the section's span.
        last = end - 1
        while last > first and not lines[last].strip():
            last -= 1
        sections.append(
            Section(
                id=sid,
                heading=heading,
                category=category,
                text=body,
                source=name,
                start_line=max(at, 0) + 1,
                end_line=max(last, at, 0) + 1,
                heading_path=path,
            )
        )
    return Document(name=name, sha256=sha256_text(text), sections=sections, toc=toc)
