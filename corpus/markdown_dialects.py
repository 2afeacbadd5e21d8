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
from collections.abc import Callable

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
_CLOSERS = {"%%": "%%", "<!--": "-->", "{/*": "*/}"}
# GitHub's old alert "> **Note**"; the empty group stands where a callout's title is (_CALLOUT's group 2)
_BOLD_NOTE = re.compile(r"^\*\*(note|warning|important|tip|caution)\*\*:?()\s*$", re.IGNORECASE)
# A line that is only a component's tag (MDX: <Tabs>, <TabItem value="mac" label="macOS">, </TabItem>)
_JSX_LINE = re.compile(r"^\s*</?[A-Z][\w.]*(?:\s[^<>]*?)?/?>\s*$")
_JSX_LABEL = re.compile(r"\b(?:label|title)=[\"']([^\"']+)[\"']")
_MDX_STATEMENT = re.compile(
    r"^(?:import\s.*\bfrom\s+['\"][^'\"]+['\"]|import\s+['\"][^'\"]+['\"]|export\s+(?:const|default|function)\b.*);?\s*$"
)
_HTML_HEADING = re.compile(r"^\s*<h([1-6])\b[^>]*>(.*?)</h\1>\s*$", re.IGNORECASE)  # <h1 align="center">Title</h1>
_SUMMARY = re.compile(r"^\s*(?:<details\b[^>]*>\s*)?<summary\b[^>]*>(.*?)</summary>\s*$", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]+>")
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")  # a run of ticks, closed by as many
# The emoji shortcodes READMEs use most (":rocket: Quick start"): a list, so ":memory:" or ":foo:" stay words
_EMOJI = (
    "rocket", "warning", "bulb", "memo", "tada", "sparkles", "fire", "bug", "wrench", "hammer", "lock", "key",
    "book", "books", "link", "star", "zap", "boom", "construction", "rotating_light", "information_source",
    "exclamation", "question", "point_right", "thumbsup", "thumbsdown", r"\+1", "-1", "white_check_mark",
    "heavy_check_mark", "x", "smile", "eyes", "heart", "checkered_flag", "package", "gear", "art", "pencil",
    "pencil2", "recycle", "mag", "calendar", "hourglass", "globe_with_meridians", "computer", "robot", "star2",
    "new", "no_entry", "stop_sign", "muscle", "pray", "wave", "raised_hands", "clipboard", "pushpin", "sos",
)  # fmt: skip
_SPAN_MARK = re.compile(r"\x00(\d+)\x00")  # where a code span was set aside
_INLINE = (
    (re.compile(r"!\[\[[^\[\]\n]*\]\]"), ""),  # an embed (an image or another note): not this note's words
    # [[Note]], [[Note|shown words]], [[Note#Heading]], [[#Heading]]: the words a reader sees
    (re.compile(r"\[\[([^\[\]|#\n]*)(?:#([^\[\]|\n]*))?\|([^\[\]\n]*)\]\]"), r"\3"),
    (re.compile(r"\[\[([^\[\]|#\n]+)(?:#[^\[\]|\n]*)?\]\]"), r"\1"),
    (re.compile(r"\[\[#([^\[\]|\n]+)\]\]"), r"\1"),
    (re.compile(r"(?<![=\w])==(?=\S)(.+?)(?<=\S)==(?![=\w])"), r"\1"),  # ==highlight==
    (re.compile(r"^\[\^([^\]\s]+)\]:\s*"), r"Footnote \1: "),  # a footnote's text
    (re.compile(r"(?<!\s)\s+\^(?=[\w-]*[A-Za-z])[A-Za-z0-9-]+\s*$"), ""),  # a block id: "… systems.\" ^quote-systems"
    # { width="160" }, {#custom-id}, {: .class }: attribute lists
    (re.compile(r"(?<!\s)\s*\{:?\s*(?:[#.][\w-]+|[\w-]+=(?:\"[^\"]*\"|'[^']*'|[^\s}]+))(?:\s+(?:[#.][\w-]+|[\w-]+=(?:\"[^\"]*\"|'[^']*'|[^\s}]+)))*\s*\}"), ""),  # noqa: E501
    (re.compile(r"(?<=\w)::(?=\s)"), ":"),  # a Dataview field "due:: 2025-03-01"
    (re.compile(rf"(?<![\w:]):(?:{'|'.join(_EMOJI)}):(?![\w:])[ \t]?"), ""),  # an emoji's :shortcode:
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
_LINK_DEFINITION = re.compile(
    r"^\s{0,3}\[([^\]^\n][^\]\n]*)\]:\s+(?:<[^>]*>|\S+)(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*$"
)
_FOOTNOTE_DEFINITION = re.compile(r"^\s{0,3}\[\^([^\]\s]+)\]:")
_FOOTNOTE_MARK = re.compile(r"\[\^([^\]\s]+)\](?!:)")
_TOC = re.compile(r"^\s*(?:\[TOC\]|\[\[_TOC_\]\]|\{:toc\}|\[\[toc\]\])\s*$", re.IGNORECASE)


def unwrap_containers(lines: list[str]) -> tuple[list[str], list[bool]]:
    """The lines with comments gone and containers unwrapped (see the module), and whether each opens a block."""
    out: list[str] = []
    opens: list[bool] = []
    depth = 0  # the containers (admonitions, tabs) the line sits in, each indenting its body by 4
    fence, fence_at, fence_quoted, fence_depth = "", 0, False, 0  # the open code fence: where, in a quote, how deep
    quoted = False  # the line before was in a block quote
    closer = ""  # the end of the comment the line sits in, if any
    # where each comment's end is last seen: a comment opens over lines only when it closes ("100%% done" is text)
    last = {end: max((i for i, line in enumerate(lines) if end in line), default=-1) for end in _CLOSERS.values()}
    for i, raw in enumerate(lines):
        line = raw.expandtabs(4)
        if line.strip():
            depth = min(depth, (len(line) - len(line.lstrip(" "))) // 4)
            line = line[4 * depth :]
        if fence and ((fence_quoted and not _QUOTE.match(line)) or (depth < fence_depth and line.strip())):
            out[fence_at], fence = "", ""  # an unclosed fence ends with its quote or box: its opener was no fence
        if fence:
            line = _unquoted(line) if fence_quoted else line
            fence = "" if closes_fence(line, fence) else fence
            out.append(line)
            opens.append(False)
            continue
        line, closer = _uncommented(line, closer, lambda end, i=i: last[end] > i)
        line = _html_line(line)
        quote = _QUOTE.match(line)
        title = _container_title(line)
        if title is not None and not quote:
            depth += bool(_ADMONITION.match(line) or _TAB.match(line))  # their bodies are indented
        elif quote:
            line = _unquoted(line)
            callout = _CALLOUT.match(line) or (_BOLD_NOTE.match(line) if not quoted else None)
            title = _titled(callout.group(2) or None, callout.group(1)) if callout else None
        if m := FENCE.match(line):
            fence, fence_at, fence_quoted, fence_depth = m.group(1), len(out), bool(quote), depth
        opens.append(title is not None or bool(quote) != quoted)
        out.append(line if title is None else title)
        quoted = bool(quote) and bool(line.strip())
    return out, opens


def _unquoted(line: str) -> str:
    while (quote := _QUOTE.match(line)) is not None:  # a quote in a quote too
        line = line[quote.end() :]
    return line


def _uncommented(line: str, closer: str, closes_later: Callable[[str], bool]) -> tuple[str, str]:
    """The line without its comments, and the end of the comment still open after it ("" for none): a comment
    spans lines only up to its own end marker, and opens over lines only when `closes_later` finds that end. A
    code span is no comment: "use `%%timeit` in Jupyter" keeps its words and the lines after it."""
    spans: list[str] = []
    line = CODE_SPAN.sub(lambda m: spans.append(m.group(0)) or f"\x00{len(spans) - 1}\x00", line)
    if closer:
        at = line.find(closer)
        if at < 0:
            return "", closer
        line, closer = line[at + len(closer) :], ""
    line = _COMMENT.sub("", line)
    if (opened := _COMMENT_OPEN.search(line)) and closes_later(_CLOSERS[opened.group(0)]):
        line, closer = line[: opened.start()], _CLOSERS[opened.group(0)]
    return _SPAN_MARK.sub(lambda m: spans[int(m.group(1))], line), closer


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
    """The labels of the document's link reference definitions, lower-cased ("[2.3.1]" in the text is a link), and
    of its footnotes as "^1" (a "[^1]" marker goes; "array[^0-9]" without such a note is text)."""
    links = {m.group(1).lower() for line in lines if (m := _LINK_DEFINITION.match(line))}
    notes = {f"^{m.group(1).lower()}" for line in lines if (m := _FOOTNOTE_DEFINITION.match(line))}
    return frozenset(links | notes)


def not_text(line: str) -> bool:
    """A link reference definition or a table-of-contents marker: nothing a reader sees as text."""
    return bool(_LINK_DEFINITION.match(line) or _TOC.match(line))


def dialect_inline(line: str, labels: frozenset[str]) -> str:
    """One line (outside code spans) with the dialects' inline markup read as text; `labels`: the reference
    links defined in the document ("[2.3.0] - 2025-06-01" reads "2.3.0 - 2025-06-01")."""
    line = _TASK.sub(lambda m: f"{m.group(1)}{'To do' if m.group(2) == ' ' else 'Done'}: ", line)
    for pattern, repl in _INLINE:
        line = pattern.sub(repl, line)
    line = _FOOTNOTE_MARK.sub(lambda m: "" if f"^{m.group(1).lower()}" in labels else m.group(0), line)
    if labels:
        line = re.sub(
            r"\[([^\]\n]+)\](?:\[([^\]\n]*)\])?(?![(:])",
            lambda m: m.group(1) if (m.group(2) or m.group(1)).lower() in labels else m.group(0),
            line,
        )
    return line
