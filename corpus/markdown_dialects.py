"""What Obsidian, MkDocs Material, Docusaurus, GitHub and Python-Markdown add to Markdown, read as the text a
reader sees.

Two passes, both line for line with the file (line numbers still point into it), both pure:
- `unwrap_containers` over whole lines: comments (`%% … %%`, `<!-- … -->`, over several lines too) go;
  admonitions (`!!! note "Title"`, `:::tip[Title]` … `:::`), content tabs (`=== "macOS"`) and callouts
  (`> [!warning] Title`, GitHub's `> [!NOTE]`) become their title as a lead-in line ("macOS:") with their body
  dedented, so the code fences and paragraphs inside read as they would outside; a block quote's `>` markers
  go; and it says which lines open a block (no paragraph runs on into them). Fenced code is left as written.
- `dialect_inline` over one line of text: wikilinks as their words, embeds and highlights, footnote markers,
  block ids, attribute lists, inline HTML tags, task boxes as words ("Done:"), Dataview fields.
"""

from __future__ import annotations

import re

from corpus.text import FENCE, closes_fence

# !!! note "Title", ??? warning, ???+ tip; === "Linux" (a content tab)
_ADMONITION = re.compile(r"^(?:!!!|\?\?\?\+?)\s*([\w-]+)(?:\s+\"([^\"]*)\")?\s*$")
_TAB = re.compile(r"^===\+?\s+\"([^\"]*)\"\s*$")
# Docusaurus's and VuePress's ":::tip[Title]", "::: warning Title" … ":::"
_FENCED_BOX = re.compile(r"^:::+\s*(?:([A-Za-z][\w-]*)(?:\[([^\]]*)\]|\s+(\S.*?))?)?\s*$")
_QUOTE = re.compile(r"^\s{0,3}>\s?")
_CALLOUT = re.compile(r"^\[!([\w-]+)\][+-]?\s*(.*)$")  # Obsidian's "> [!note]- Title", the `>` already gone
_COMMENT = re.compile(r"%%.*?%%|<!--.*?-->|\{/\*.*?\*/\}")  # Obsidian, HTML and MDX comments
_COMMENT_OPEN = re.compile(r"%%|<!--|\{/\*")
_COMMENT_CLOSE = re.compile(r"%%|-->|\*/\}")
_BOLD_NOTE = re.compile(r"^\*\*(note|warning|important|tip|caution)\*\*:?()\s*$", re.IGNORECASE)  # GitHub's old alert
# A line that is only a component's tag (MDX: <Tabs>, <TabItem value="mac" label="macOS">, </TabItem>)
_JSX_LINE = re.compile(r"^\s*</?[A-Z][\w.]*(?:\s[^<>]*?)?/?>\s*$")
_JSX_LABEL = re.compile(r"\b(?:label|title)=[\"']([^\"']+)[\"']")
_MDX_STATEMENT = re.compile(
    r"^(?:import\s.*\bfrom\s+['\"][^'\"]+['\"]|import\s+['\"][^'\"]+['\"]|export\s+(?:const|default|function)\b.*);?\s*$"
)
_HTML_HEADING = re.compile(r"^\s*<h([1-6])\b[^>]*>(.*?)</h\1>\s*$", re.IGNORECASE)  # <h1 align="center">Title</h1>
_SUMMARY = re.compile(r"^\s*(?:<details\b[^>]*>\s*)?<summary\b[^>]*>(.*?)</summary>\s*$", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]+>")
_CODE_SPAN = re.compile(r"(`+).+?\1")
_SPAN_MARK = re.compile(r"\x00(\d+)\x00")  # where a code span was set aside
_INLINE = (
    (re.compile(r"!\[\[[^\]\n]*\]\]"), ""),  # an embed (an image or another note): not this note's words
    # [[Note]], [[Note|shown words]], [[Note#Heading]], [[#Heading]]: the words a reader sees
    (re.compile(r"\[\[([^\]|#\n]*)(?:#([^\]|\n]*))?\|([^\]\n]*)\]\]"), r"\3"),
    (re.compile(r"\[\[([^\]|#\n]+)(?:#[^\]|\n]*)?\]\]"), r"\1"),
    (re.compile(r"\[\[#([^\]|\n]+)\]\]"), r"\1"),
    (re.compile(r"(?<![=\w])==(?=\S)(.+?)(?<=\S)==(?![=\w])"), r"\1"),  # ==highlight==
    (re.compile(r"^\[\^([^\]\s]+)\]:\s*"), r"Footnote \1: "),  # a footnote's text
    (re.compile(r"\[\^[^\]\s]+\]"), ""),  # its marker
    (re.compile(r"\s+\^[A-Za-z0-9-]+\s*$"), ""),  # an Obsidian block id: "… systems.\" ^quote-systems"
    # { width="160" }, {#custom-id}, {: .class }: attribute lists
    (re.compile(r"\s*\{:?\s*(?:[#.][\w-]+|[\w-]+=(?:\"[^\"]*\"|'[^']*'|[^\s}]+))(?:\s+(?:[#.][\w-]+|[\w-]+=(?:\"[^\"]*\"|'[^']*'|[^\s}]+)))*\s*\}"), ""),  # noqa: E501
    (re.compile(r"(?<=\w)::(?=\s)"), ":"),  # a Dataview field "due:: 2025-03-01"
    (re.compile(r"(?<![\w:]):(?=[a-z0-9_+-]*[a-z])[a-z0-9_+-]+:(?![\w:])"), ""),  # an emoji's :shortcode:
    (re.compile(r"<((?:https?://|mailto:)[^<>\s]+)>"), r"\1"),  # an autolink <https://…>
    (re.compile(r"</?[A-Z][\w.]*(?:\s[^<>]*?)?/?>"), ""),  # an MDX component's tag: <Highlight>, <DocCardList />
    (re.compile(r"(?<![\w&#/])#(?=[A-Za-z][\w/-]*)"), ""),  # a tag "#pricing" reads "pricing" ("# Title" stays)
    # Inline HTML: tags that sit inside a sentence go, others leave a space (an <img> says nothing)
    (re.compile(r"</?(?:a|b|i|em|strong|span|sup|sub|kbd|small|mark|u|s|del|ins|code|abbr|font)\b[^<>]*>"), ""),
    (re.compile(r"</?(?:div|p|br|img|details|summary|center|hr|picture|source|figure|figcaption|table|t[rdh]|"
                r"thead|tbody|ul|ol|li|dl|dt|dd|h[1-6]|section|iframe|video)\b[^<>]*/?>"), " "),
)  # fmt: skip
_TASK = re.compile(r"^(\s*(?:[-*+]|\d+[.)])\s+)\[([ xX])\]\s+")
# A link's reference definition ("[2.3.1]: https://…") and a table-of-contents marker are not text
_LINK_DEFINITION = re.compile(r"^\s{0,3}\[([^\]^\n][^\]\n]*)\]:\s+\S+")
_TOC = re.compile(r"^\s*(?:\[TOC\]|\[\[_TOC_\]\]|\{:toc\}|\[\[toc\]\])\s*$", re.IGNORECASE)


def unwrap_containers(lines: list[str]) -> tuple[list[str], list[bool]]:
    """The lines with comments gone and containers unwrapped (see the module), and whether each opens a block."""
    out: list[str] = []
    opens: list[bool] = []
    depth = 0  # the containers (admonitions, tabs) the line sits in, each indenting its body by 4
    fence = ""  # the open code fence, if any
    quoted = False  # the line before was in a block quote
    in_comment = False
    for raw in lines:
        line = raw.expandtabs(4)
        if line.strip():
            depth = min(depth, (len(line) - len(line.lstrip(" "))) // 4)
            line = line[4 * depth :]
        quote = _QUOTE.match(line) if not fence or quoted else None
        if fence:
            line = _unquoted(line) if quote else line
            fence = "" if closes_fence(line, fence) else fence
            out.append(line)
            opens.append(False)
            continue
        line, in_comment = _uncommented(line, in_comment)
        line = _html_line(line)
        quote = _QUOTE.match(line)
        title = _container_title(line)
        if title is not None and not quote:
            depth += bool(_ADMONITION.match(line) or _TAB.match(line))  # their bodies are indented
        elif quote:
            line = _unquoted(line)
            callout = _CALLOUT.match(line) or (_BOLD_NOTE.match(line) if not quoted else None)
            title = _titled(callout.group(2) or None, callout.group(1)) if callout else None
        fence = m.group(1) if (m := FENCE.match(line)) else ""
        opens.append(title is not None or bool(quote) != quoted)
        out.append(line if title is None else title)
        quoted = bool(quote) and bool(line.strip())
    return out, opens


def _unquoted(line: str) -> str:
    while (quote := _QUOTE.match(line)) is not None:  # a quote in a quote too
        line = line[quote.end() :]
    return line


def _uncommented(line: str, in_comment: bool) -> tuple[str, bool]:
    """The line without its comments, and whether a comment is still open after it (one spans lines). A code
    span is no comment: "use `%%timeit` in Jupyter" keeps its words and the lines after it."""
    spans: list[str] = []
    line = _CODE_SPAN.sub(lambda m: spans.append(m.group(0)) or f"\x00{len(spans) - 1}\x00", line)
    if in_comment:
        end = _COMMENT_CLOSE.search(line)
        if end is None:
            return "", True
        line = line[end.end() :]
    line = _COMMENT.sub("", line)
    opened = _COMMENT_OPEN.search(line)
    line, in_comment = (line[: opened.start()], True) if opened else (line, False)
    return _SPAN_MARK.sub(lambda m: spans[int(m.group(1))], line), in_comment


def _container_title(line: str) -> str | None:
    """An admonition's or a content tab's lead-in ("Warning:", "macOS:"); None for a line that opens none."""
    if m := _ADMONITION.match(line):
        return _titled(m.group(2), m.group(1))
    if m := _TAB.match(line):
        return f"{m.group(1)}:"
    if m := _FENCED_BOX.match(line):  # the closing ::: is an empty line
        return _titled(m.group(2) or m.group(3) or None, m.group(1)) if m.group(1) else ""
    if _JSX_LINE.match(line):  # a tab's label leads its text, other components' tags go
        return f"{m.group(1)}:" if (m := _JSX_LABEL.search(line)) else ""
    return None


def _html_line(line: str) -> str:
    """A whole-line HTML heading or <summary> as a Markdown heading (a README's centred <h1>, a FAQ's question:
    a summary heads a section one level under any); an MDX import or export line as nothing."""
    if m := _HTML_HEADING.match(line):
        return f"{'#' * int(m.group(1))} {_TAG.sub('', m.group(2)).strip()}"
    if m := _SUMMARY.match(line):
        return f"###### {_TAG.sub('', m.group(1)).strip()}"
    return "" if _MDX_STATEMENT.match(line) else line


def _titled(title: str | None, kind: str) -> str:
    """A box's title as a line of its own: a statement ("Do not expose the web UI to the internet.") ends as
    one, so it can be quoted; no title is its kind ("Warning:"); an empty one ("") is none."""
    if title is None:
        return f"{kind.capitalize()}:"
    return title if not title or title[-1] in ".!?:" else f"{title}."


def link_labels(lines: list[str]) -> frozenset[str]:
    """The labels of the document's link reference definitions, lower-cased: "[2.3.1]" in the text is a link."""
    return frozenset(m.group(1).lower() for line in lines if (m := _LINK_DEFINITION.match(line)))


def not_text(line: str) -> bool:
    """A link reference definition or a table-of-contents marker: nothing a reader sees as text."""
    return bool(_LINK_DEFINITION.match(line) or _TOC.match(line))


def dialect_inline(line: str, labels: frozenset[str]) -> str:
    """One line (outside code spans) with the dialects' inline markup read as text; `labels`: the reference
    links defined in the document ("[2.3.0] - 2025-06-01" reads "2.3.0 - 2025-06-01")."""
    line = _TASK.sub(lambda m: f"{m.group(1)}{'To do' if m.group(2) == ' ' else 'Done'}: ", line)
    for pattern, repl in _INLINE:
        line = pattern.sub(repl, line)
    if labels:
        line = re.sub(
            r"\[([^\]\n]+)\](?:\[([^\]\n]*)\])?(?![(:])",
            lambda m: m.group(1) if (m.group(2) or m.group(1)).lower() in labels else m.group(0),
            line,
        )
    return line
