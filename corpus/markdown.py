"""Markdown source lines as the plain text a reader sees, line for line (line numbers still point into the file).

What is quoted from a section must read like text: emphasis markers, inline code ticks and link targets go (their
words stay), a table row becomes "Header: cell; Header: cell." so each row says what its numbers are, and YAML
front matter is not text at all. Fenced code is left as written. Headings underlined with `===` / `---` (setext)
are headings like `#` ones. Pure functions.
"""

from __future__ import annotations

import re
from itertools import zip_longest

FENCE = re.compile(r"^\s*(```|~~~)")
ATX_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
_FRONT_OPEN = re.compile(r"^---\s*$")
_FRONT_CLOSE = re.compile(r"^(?:---|\.\.\.)\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
_INLINE = (
    (re.compile(r"!?\[([^\]\n]*)\]\([^)\s]*(?:\s+\"[^\"]*\")?\)"), r"\1"),  # [words](target), ![alt](image)
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # **bold**, __bold__
    (re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=\S)\*(?![\w*])"), r"\1"),  # *italic* (not snake_case _x_)
    (re.compile(r"`([^`\n]+)`"), r"\1"),  # `code`
)
_FRONT_MATTER_LINES = 100  # a closing `---` further down is a thematic break, not the end of front matter


def inline(line: str) -> str:
    for pattern, repl in _INLINE:
        line = pattern.sub(repl, line)
    return line


def front_matter_end(lines: list[str]) -> int:
    """How many lines the YAML front matter (`---` … `---` at the very top) takes; 0 when there is none."""
    if not lines or not _FRONT_OPEN.match(lines[0]):
        return 0
    for i in range(1, min(len(lines), _FRONT_MATTER_LINES)):
        if _FRONT_CLOSE.match(lines[i]):
            return i + 1
    return 0


def _cells(line: str) -> list[str]:
    return [inline(c.strip()) for c in line.strip().strip("|").split("|")]


def _row(header: list[str], line: str) -> str:
    pairs = zip_longest(header, _cells(line), fillvalue="")
    said = "; ".join(f"{h}: {c}" if h else c for h, c in pairs if c)
    return f"{said}." if said and not said.endswith((".", "!", "?")) else said


def plain_lines(lines: list[str]) -> list[str]:
    """The lines with front matter and table rules blanked, table rows spelled out, inline markup removed; fenced
    code as written."""
    out = list(lines)
    start = front_matter_end(lines)
    out[:start] = [""] * start
    in_fence = False
    header: list[str] | None = None
    for i in range(start, len(lines)):
        line = lines[i]
        if FENCE.match(line):
            in_fence = not in_fence
        if in_fence or FENCE.match(line):
            continue
        if "|" in line and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1]):
            header, out[i] = _cells(line), ""  # the header row: said in every row below it
        elif header is not None and _TABLE_RULE.match(line):
            out[i] = ""
        elif header is not None and "|" in line:
            out[i] = _row(header, line)
        else:
            header = None
            out[i] = inline(line)
    return out


def headings(lines: list[str], plain: list[str]) -> list[tuple[int, int, str]]:
    """(line, level, heading) of every `#` heading and every setext one (its text line; `===` is level 1, `---`
    level 2), outside fenced code and front matter."""
    found: list[tuple[int, int, str]] = []
    in_fence = False
    for i in range(front_matter_end(lines), len(lines)):
        if FENCE.match(lines[i]):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        m = ATX_HEADING.match(plain[i])
        setext = _SETEXT.match(lines[i])
        if m:
            found.append((i, len(m.group(1)), m.group(2).strip()))
        elif setext and i > 0 and _underlines(lines[i - 1], plain[i - 1]) and not (found and found[-1][0] == i - 1):
            found.append((i - 1, 1 if setext.group(1).startswith("=") else 2, plain[i - 1].strip()))
    return found


def _underlines(line: str, plain: str) -> bool:
    """Whether a `===` / `---` line under `line` makes it a heading: a line of text, not code or a table."""
    return bool(plain.strip()) and not FENCE.match(line) and not _TABLE_RULE.match(line)
