"""Markdown source lines as the plain text a reader sees, line for line (line numbers still point into the file).

What is quoted from a section must read like text: emphasis markers, inline code ticks and link targets go (their
words stay; what is inside a code span stays as written), a table row becomes "Header: cell; Header: cell." so
each row says what its numbers are, and YAML front matter and thematic breaks are not text at all. Fenced code
is left as written. Headings underlined with `===` / `---` (setext) are headings like `#` ones. Pure functions.
"""

from __future__ import annotations

import re
from itertools import zip_longest

from corpus import text
from corpus.markdown_dialects import CODE_SPAN, dialect_inline, link_labels, not_text

# A closing run of #s needs a space before it: "# Learn C#" keeps its "#".
ATX_HEADING = re.compile(r"^(#{1,6})\s+(.+?)(?:\s+#+)?\s*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
_BREAK = re.compile(r"^ {0,3}([-*_])(?:\s*\1){2,}\s*$")  # a thematic break: ---, ***, ___
_FRONT_OPEN = re.compile(r"^---\s*$")
_FRONT_KEY = re.compile(r"^[A-Za-z_][\w-]*\s*:")  # front matter opens with a YAML key, not a blank line
_FRONT_CLOSE = re.compile(r"^(?:---|\.\.\.)\s*$")
# |---|:---:| or, with a pipe, |-|-| (GitHub takes one dash a cell)
_TABLE_RULE = re.compile(
    r"^\s*(?:\|\s*)?:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$|^(?=[^|]*\|)\s*(?:\|\s*)?:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$"
)
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")
_DEFINITION = re.compile(r"^:\s{1,4}(?=\S)")  # Term / ":   its definition" (a definition list)
_INDENTED = re.compile(r"^(?: {4}|\t)")
# [words](target), ![alt](image); a target may hold balanced parentheses or sit in <angle brackets>; an image in
# a link (a badge: [![build](badge.svg)](ci)) is read inside out
_LINK = re.compile(r"!?\[([^\[\]\n]*)\]\((?:<[^>\n]*>|(?:[^()\s]|\([^()\s]*\))*)(?:\s+\"[^\"]*\")?\)")
_INLINE = (
    (re.compile(r"(?<![\w*])(\*\*|__)(?=\S)(.+?)(?<=\S)\1(?![\w*])"), r"\2"),  # **bold** (not __init__)
    (re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=\S)\*(?![\w*])"), r"\1"),  # *italic* (not snake_case _x_)
)
_FRONT_MATTER_LINES = 100  # a closing `---` further down is a thematic break, not the end of front matter


def inline(line: str, labels: frozenset[str] = frozenset()) -> str:
    """The line without emphasis, link targets and code ticks (and the dialects' markup: corpus.markdown_dialects;
    `labels`: the document's reference links); a code span's text is kept as written."""
    out, last = [], 0
    for m in CODE_SPAN.finditer(line):
        out += [_markup_removed(line[last : m.start()], labels), m.group(2).strip()]
        last = m.end()
    return "".join([*out, _markup_removed(line[last:], labels)])


def _markup_removed(text: str, labels: frozenset[str]) -> str:
    text = dialect_inline(text, labels)
    for _ in range(3):  # a link around an image, around an image
        text, found = _LINK.subn(r"\1", text)
        if not found:
            break
    for pattern, repl in _INLINE:
        text = pattern.sub(repl, text)
    return text


def front_matter_end(lines: list[str]) -> int:
    """How many lines the YAML front matter (`---`, `key: value` lines, `---` at the very top) takes; 0 when
    there is none."""
    if len(lines) < 2 or not _FRONT_OPEN.match(lines[0]) or not _FRONT_KEY.match(lines[1]):
        return 0
    for i in range(1, min(len(lines), _FRONT_MATTER_LINES)):
        if _FRONT_CLOSE.match(lines[i]):
            return i + 1
    return 0


_FRONT_TITLE = re.compile(r"^title\s*:\s*([\"']?)(.+?)\1\s*$")


def front_matter_title(lines: list[str]) -> str:
    """The `title:` of the YAML front matter ("" when there is none): the page's title where MkDocs shows it."""
    for line in lines[1 : max(front_matter_end(lines) - 1, 1)]:
        if m := _FRONT_TITLE.match(line):
            return m.group(2)
    return ""


def fenced(lines: list[str]) -> list[bool]:
    """Whether each line is fenced code or a fence; a fence closes only on its own character, at least as long."""
    out: list[bool] = []
    opened = ""
    for line in lines:
        m = text.FENCE.match(line)
        if not opened and m:
            opened = m.group(1)
        elif opened and text.closes_fence(line, opened):
            out.append(True)
            opened = ""
            continue
        out.append(bool(opened))
    return out


_CELL_SEP = re.compile(r"(?<!\\)\|")  # "\|" is a pipe inside a cell ("status=posted\|draft")


def _cells(line: str, labels: frozenset[str] = frozenset()) -> list[str]:
    body = line.strip().removeprefix("|")
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [inline(c.strip().replace("\\|", "|"), labels) for c in _CELL_SEP.split(body)]


def _table_header(line: str, rule: str, labels: frozenset[str]) -> list[str] | None:
    """The header cells when `line` heads a table ruled by `rule` (as many rule cells as header cells)."""
    if "|" not in line or not _TABLE_RULE.match(rule):
        return None
    cells = _cells(line, labels)
    return cells if len(cells) == len(rule.strip().strip("|").split("|")) else None


def row_text(header: list[str], cells: list[str]) -> str:
    """A table row as a sentence that says what each cell is: "Code: E02; Meaning: Boiler overheated." (Markdown
    and HTML tables alike)."""
    pairs = zip_longest(header, cells, fillvalue="")
    said = "; ".join(f"{h}: {c}" if h else c for h, c in pairs if c)
    return f"{said}." if said and not said.endswith((".", "!", "?")) else said


_ROW_PAIR = re.compile(r"^([^:;]{1,40}): (.*)$")


def row_cells(sentence: str) -> tuple[tuple[str, ...], str] | None:
    """A table row as `row_text` spelled it ("Code: E02; Meaning: Boiler overheated."): its headers and its cells'
    text; None for any other sentence. A cell's own "; " stays in the cell before it."""
    keys: list[str] = []
    cells: list[str] = []
    for part in sentence.split("; "):
        pair = _ROW_PAIR.match(part)
        if pair:
            keys.append(pair.group(1))
            cells.append(pair.group(2))
        elif cells:
            cells[-1] += f"; {part}"
        else:
            return None
    return (tuple(keys), " ".join(cells)) if len(keys) >= 2 else None


def plain_lines(lines: list[str]) -> list[str]:
    """The lines with front matter, thematic breaks, table rules, link definitions and TOC markers blanked, table
    rows spelled out (a table without header words as "Label: value"), definition lists as "Term: definition",
    inline markup removed, a one-line code block joined to the line that introduces it; other fenced code as
    written."""
    out = list(lines)
    start = front_matter_end(lines)
    out[:start] = [""] * start
    code = fenced(lines)
    labels = link_labels(lines)
    header: list[str] | None = None
    for i in range(start, len(lines)):
        line = lines[i]
        if code[i]:
            continue
        head = _table_header(line, lines[i + 1], labels) if i + 1 < len(lines) and not code[i + 1] else None
        if head is not None:
            header, out[i] = head, ""  # the header row: said in every row below it
        elif header is not None and _TABLE_RULE.match(line):
            out[i] = ""
        elif header is not None and "|" in line:
            cells = _cells(line, labels)
            # a table with an empty header row is a list of fields ("Status | Accepted": "Status: Accepted.")
            labelled = not any(header) and len(cells) == 2
            out[i] = row_text(cells[:1], cells[1:]) if labelled else row_text(header, cells)
        elif (said := _definition(lines, out, i, labels)) is not None:
            out[i - 1], out[i] = said
        else:
            header = None
            blank = not_text(line) or (_BREAK.match(line) and not _setext_under(lines, out, i))
            out[i] = "" if blank else inline(line, labels)
    _commands_into_lead_ins(lines, out, code)
    return out


_COMMAND_CHARS = 120


def _commands_into_lead_ins(lines: list[str], out: list[str], code: list[bool]) -> None:
    """A one-line code block under a line that introduces it ("Install with Homebrew:") joins that line, in
    backticks ("Install with Homebrew: `brew install snapvault`."): the how-to is then one sentence that can be
    quoted, where the lead-in alone (a list intro) and the code (never quoted) each answered nothing."""
    i = 0
    while i < len(lines):
        end = i
        while code[i] and end + 1 < len(lines) and code[end + 1]:
            end += 1
        body = lines[i + 1 : end]
        lead = next((k for k in range(i - 1, -1, -1) if out[k].strip()), None) if code[i] else None
        if (
            lead is not None
            and end == i + 2
            and body[0].strip()
            and len(body[0].strip()) <= _COMMAND_CHARS
            and text.closes_fence(lines[end], text.FENCE.match(lines[i]).group(1))  # type: ignore[union-attr]
            and not code[lead]
            and out[lead].rstrip().endswith(":")
            and not ATX_HEADING.match(out[lead])  # "## Install:" stays a heading
        ):
            out[lead] = f"{out[lead].rstrip()} `{body[0].strip()}`."
            out[i : end + 1] = [""] * (end + 1 - i)
        i = end + 1


def _definition(lines: list[str], out: list[str], i: int, labels: frozenset[str]) -> tuple[str, str] | None:
    """A definition list's term and definition ("Vault" / ":   The storage location …") as the line above
    blanked and "Vault: The storage location …"; None for any other line."""
    m = _DEFINITION.match(lines[i])
    term = out[i - 1].strip() if m and i > 0 else ""
    if not term or _DEFINITION.match(lines[i - 1]) or _INDENTED.match(lines[i - 1]):
        return None
    return "", f"{term}: {inline(lines[i][m.end() :], labels)}"


def soft_breaks(lines: list[str], plain: list[str], opens: list[bool] | None = None) -> list[bool]:
    """Which of the reader's lines only continue a wrapped paragraph (a soft line break, a space when Markdown is
    rendered): corpus.text's rule, but never in fenced code nor after a hard break (two spaces or a backslash),
    nor on a line that `opens` a block (a quote, an admonition: corpus.markdown_dialects)."""
    code = fenced(lines)
    return [
        soft
        and not (opens and opens[i])
        and not code[i]
        and not code[i - 1]
        and not lines[i - 1].endswith(("  ", "\\"))
        and not _LIST_ITEM.match(lines[i])  # "+ item" too
        and not (_INDENTED.match(lines[i]) and _INDENTED.match(lines[i - 1]))  # indented code
        for i, soft in enumerate(text.soft_breaks(plain))
    ]


def _setext_under(lines: list[str], plain: list[str], i: int) -> bool:
    """Whether line i underlines the line above it as a setext heading (text, not code, a table or a list)."""
    if i == 0 or not _SETEXT.match(lines[i]):
        return False
    above = lines[i - 1]
    return bool(plain[i - 1].strip()) and not _TABLE_RULE.match(above) and not _LIST_ITEM.match(above)


def headings(lines: list[str], plain: list[str]) -> list[tuple[int, int, str]]:
    """(line, level, heading) of every `#` heading and every setext one (its text line; `===` is level 1, `---`
    level 2), outside fenced code and front matter."""
    found: list[tuple[int, int, str]] = []
    code = fenced(lines)
    for i in range(front_matter_end(lines), len(lines)):
        if code[i]:
            continue
        m = ATX_HEADING.match(plain[i])
        if m:
            found.append((i, len(m.group(1)), m.group(2).strip()))
        elif _setext_under(lines, plain, i) and not code[i - 1] and not (found and found[-1][0] == i - 1):
            found.append((i - 1, 1 if lines[i].strip().startswith("=") else 2, plain[i - 1].strip()))
    return found
