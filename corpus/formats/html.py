"""HTML: the main text of a page (BeautifulSoup; navigation, scripts and boilerplate dropped), sections at h1–h4 and
at a FAQ's questions; table rows spelled out as "Header: cell; …" sentences."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from corpus.errors import InvalidInputError
from corpus.formats.blocks import Block, clean_lines, document_from_blocks
from corpus.markdown import row_text
from corpus.model import Document

HEADINGS = ("h1", "h2", "h3", "h4")
# Page furniture, not content (a <header> only outside the article: inside it holds the title and byline).
_DROP = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "svg", "iframe")
# Furniture by its class, id or role: what blog, wiki and documentation themes put around the text. Comments are
# other people's words (a reader's wrong timetable), the rest is chrome: sharing, related links, cookie notices,
# tables of contents, edit links, a wiki's reference list and navigation boxes.
_FURNITURE = re.compile(
    r"(?:^|[-_])(?:"
    r"(?:related|social|newsletter|subscribe|cookie|consent|sidebar|breadcrumb)\w*"
    r"|comments?|commentlist|respond|share|sharing|sharedaddy|toc|navbox|mw-jump-link|sitenotice|catlinks"
    r"|printfooter|ads?|advert|editsection|mw-editsection|headerlink|reflist|references|skip-link|on-this-page"
    r"|pagination)(?:$|[-_])",
    re.IGNORECASE,
)
# Chrome of help-centre, wiki and static-site exports, by a class that ends in one of these (never an id, nor on a
# heading or a <section>, whose ids name their text: "customizing-the-footer", "author-guidelines"): a static
# site's top bar, "Was this page helpful?", edit link, pager, footer and copyright; Zendesk's author line,
# Confluence's "Created by … last modified by", Notion's page icon and property rows ("Tags: Admin Support" was
# quoted as an answer).
_CHROME = re.compile(
    r"(?:^|[-_])(?:topbar|navbar|pager|footer|feedback|copyright|edit-link|edit-page|return-to-top|author"
    r"|page-metadata|header-icon|property-row)$",
    re.IGNORECASE,
)
_FURNITURE_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search"}
_KEEP = {"html", "body", "main", "article"}  # a theme's class on these says nothing about their text
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))  # zero-width characters
# Elements that end a line; inline ones (a, b, em, code ...) stay inside their sentence.
# fmt: off
_BLOCK = (
    "p", "div", "li", "pre", "blockquote", "tr", "td", "th", "dt", "dd", "figcaption", "section", "article",
    "h5", "h6", "table", "ul", "ol", "dl", "br", "hr",
)
# fmt: on
_NOTE_MARK = re.compile(r"\[(?:\d+|[a-z]|citation needed|note \d+)\]", re.IGNORECASE)
_MARK = "\x00h"  # a heading line, as "\x00h<level>\x00<line in the file>\x00<text>"


def parse_html(text: str, name: str, id_prefix: str = "", forms: bool = False) -> Document:
    """`forms`: keep <form>s, for a page whose whole text sits in one (an ASP.NET page), tried when the page has no
    text without them."""
    from bs4 import BeautifulSoup, NavigableString

    soup = BeautifulSoup(text.translate(_INVISIBLE), "html.parser")
    title = " ".join(soup.title.get_text().split()) if soup.title else ""
    _drop_furniture(soup, forms)
    root = soup.find("main") or _article(soup) or soup.body or soup
    for string in root.find_all(string=True):
        # A line break in the source is a space on the page; comments and the like are not text at all.
        if type(string) is NavigableString and "\n" in string and string.find_parent("pre") is None:
            string.replace_with(string.replace("\n", " "))
    _tables_as_rows(root)
    _questions_as_headings(root)
    for tag in root.find_all(HEADINGS):
        heading = " ".join(tag.get_text(" ").split())
        tag.replace_with(f"\n{_MARK}{tag.name[1]}\x00{tag.sourceline or 0}\x00{heading}\n" if heading else "\n")
    for tag in root.find_all(_BLOCK):
        tag.insert_before("\n")
        tag.insert_after("\n")
    last_line = max(len(text.splitlines()), 1)
    blocks = _blocks(root.get_text().split("\n"), title or Path(name).stem, last_line)
    doc = document_from_blocks(blocks, name, id_prefix)
    if not doc.sections and not forms:
        return parse_html(text, name, id_prefix, forms=True)
    if not doc.sections:
        raise InvalidInputError("the HTML page has no text")
    return doc


def _drop_furniture(soup: Any, forms: bool) -> None:
    for tag in soup.find_all([t for t in _DROP if t != "form" or not forms]):
        if not (tag.name == "header" and tag.find_parent(["article", "main"])):
            tag.decompose()
    for tag in soup.find_all(True):
        if tag.decomposed or tag.name in _KEEP:
            continue
        classes = tag.get("class") or []
        names = [*classes, tag.get("id") or ""]
        chrome = tag.name not in (*HEADINGS, "h5", "h6", "section") and any(_CHROME.search(c) for c in classes)
        if tag.get("role") in _FURNITURE_ROLES or any(_FURNITURE.search(n) for n in names if n) or chrome:
            tag.decompose()
    for tag in soup.find_all("sup"):
        if _NOTE_MARK.fullmatch(tag.get_text().strip()):
            tag.decompose()  # a page's own note marker ("[3]") would read as one of askdoc's citations


def _article(soup: Any) -> Any:
    """The one <article> of a page; a page of several (a forum thread, a blog's front page) is read whole."""
    articles = soup.find_all("article")
    return articles[0] if len(articles) == 1 else None


def _tables_as_rows(root: Any) -> None:
    """Each table row as one line that says what its cells are (corpus.markdown.row_text): "max_workers; Type: int;
    Default: 8." under a header row, "Founded: 14 March 1987." for a row headed by its own <th> (an infobox);
    innermost tables first."""
    for table in reversed(root.find_all("table")):
        header: list[str] = []
        lines: list[str] = []
        for n, tr in enumerate(table.find_all("tr")):
            cells = tr.find_all(["th", "td"])
            texts = [" ".join(c.get_text(" ").split()) for c in cells]
            if n == 0 and len(cells) > 1 and all(c.name == "th" for c in cells):  # one <th> alone is a caption
                header = texts
            elif header:
                lines.append(row_text(header, texts))
            elif len(cells) > 1 and cells[0].name == "th":
                lines.append(row_text([texts[0]], [" ".join(texts[1:])]))
            else:
                lines.append(row_text([], texts))
        table.replace_with("\n" + "\n".join(line for line in lines if line) + "\n")


def _questions_as_headings(root: Any) -> None:
    """A FAQ without headings: each <summary> of a <details>, and each <dt> whose <dd> is a sentence or more, heads
    a section of its own (one level under h4); a short <dt>/<dd> pair stays one line ("Author: Jane Doe")."""
    for tag in root.find_all(["summary", "dt"]):
        text = " ".join(tag.get_text(" ").split())
        answer = tag.find_next_sibling("dd") if tag.name == "dt" else None
        if tag.name == "dt" and (answer is None or len(answer.get_text(" ").split()) < 8):
            if answer is not None:
                answer.insert(0, f"{text}: ")
            tag.decompose()
        elif text:
            tag.replace_with(f"\n{_MARK}5\x00{tag.sourceline or 0}\x00{text}\n")


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
