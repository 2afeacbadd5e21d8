"""HTML: the main text of a page (BeautifulSoup; navigation, scripts and boilerplate dropped), sections at h1–h4."""

from __future__ import annotations

import re
from pathlib import Path

from corpus.errors import InvalidInputError
from corpus.formats.blocks import Block, clean_lines, document_from_blocks
from corpus.model import Document

HEADINGS = ("h1", "h2", "h3", "h4")
# Page furniture, not content.
_DROP = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "svg", "iframe")
# Elements that end a line; inline ones (a, b, em, code ...) stay inside their sentence.
# fmt: off
_BLOCK = (
    "p", "div", "li", "pre", "blockquote", "tr", "td", "th", "dt", "dd", "figcaption", "section", "article",
    "h5", "h6", "table", "ul", "ol", "dl", "br", "hr",
)
# fmt: on
_NOTE_MARK = re.compile(r"\[(?:\d+|[a-z]|citation needed|note \d+)\]", re.IGNORECASE)
_MARK = "\x00h"  # a heading line, as "\x00h<level>\x00<line in the file>\x00<text>"


def parse_html(text: str, name: str, id_prefix: str = "") -> Document:
    from bs4 import BeautifulSoup, NavigableString

    soup = BeautifulSoup(text, "html.parser")
    title = " ".join(soup.title.get_text().split()) if soup.title else ""
    for tag in soup.find_all(_DROP):
        tag.decompose()
    for tag in soup.find_all("sup"):
        if _NOTE_MARK.fullmatch(tag.get_text().strip()):
            tag.decompose()  # a page's own note marker ("[3]") would read as one of askdoc's citations
    root = soup.find("main") or soup.find("article") or soup.body or soup
    for string in root.find_all(string=True):
        # A line break in the source is a space on the page; comments and the like are not text at all.
        if type(string) is NavigableString and "\n" in string and string.find_parent("pre") is None:
            string.replace_with(string.replace("\n", " "))
    for tag in root.find_all(HEADINGS):
        heading = " ".join(tag.get_text(" ").split())
        tag.replace_with(f"\n{_MARK}{tag.name[1]}\x00{tag.sourceline or 0}\x00{heading}\n" if heading else "\n")
    for tag in root.find_all(_BLOCK):
        tag.insert_before("\n")
        tag.insert_after("\n")
    last_line = max(len(text.splitlines()), 1)
    blocks = _blocks(root.get_text().split("\n"), title or Path(name).stem, last_line)
    doc = document_from_blocks(blocks, name, id_prefix)
    if not doc.sections:
        raise InvalidInputError("the HTML page has no text")
    return doc


def _blocks(lines: list[str], title: str, last_line: int) -> list[Block]:
    """The text between headings, each block with the lines of the file it spans (from its heading's line)."""
    blocks: list[Block] = []
    stack: list[tuple[int, str]] = []  # open headings (level, text)
    heading, body, start = title, [], 1
    for line in lines:
        if not line.startswith(_MARK):
            body.append(line)
            continue
        level, at, text = line[len(_MARK) :].split("\x00", 2)
        at_line = max(int(at), start)  # minified: headings share a line (or bs4 knows none)
        path = tuple(h for _, h in stack) or (heading,)
        blocks.append(Block(heading, path, clean_lines(body), start, max(start, at_line - 1)))
        stack = [(lv, h) for lv, h in stack if lv < int(level)] + [(int(level), text)]
        heading, body, start = text, [], at_line
    blocks.append(Block(heading, tuple(h for _, h in stack) or (heading,), clean_lines(body), start, last_line))
    return blocks
