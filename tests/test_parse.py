from __future__ import annotations

import itertools

import pytest

from corpus.errors import InvalidInputError
from corpus.ids import slugify
from corpus.model import Document
from corpus.parse import GUIDE_CATEGORIES, parse_markdown, parse_text, read_document, sha256_text
from corpus.text import MAX_SENTENCE_CHARS, fenced_sentences, sentence_spans, split_sentences, strip_bullet
from rag.config import REPO_CORPUS
from rag.quotable import quotable


def _toc_lines() -> list[str]:
    lines = REPO_CORPUS.read_text(encoding="utf-8").split("\n")
    out = []
    for line in lines[1:]:
        if not line.startswith("- "):
            break
        out.append(line[2:])
    return out


def test_all_265_toc_entries_parsed_in_order(seed_doc: Document) -> None:
    assert seed_doc.toc == _toc_lines()
    assert len(seed_doc.toc) == 265
    toc_headings = [e for e in seed_doc.toc if e not in GUIDE_CATEGORIES]
    assert len(toc_headings) == 261
    in_toc = [s.heading for s in seed_doc.sections if s.heading in set(toc_headings)]
    assert in_toc == toc_headings  # every TOC heading is a section, in TOC order


def test_toc_block_is_not_a_section_and_categories_are_metadata(seed_doc: Document) -> None:
    first = seed_doc.sections[0]
    assert first.heading == "What are some drawbacks of the Transformer?"
    assert first.start_line == 268 and first.category == "Deep Learning"
    assert not any(s.heading in GUIDE_CATEGORIES for s in seed_doc.sections)
    by_heading = {s.heading: s for s in seed_doc.sections}
    assert by_heading["What are Attention Masks?"].category == "NLP"
    assert by_heading["What is Redis?"].category == "Misc"


def test_heading_and_line_span_match_the_file(seed_doc: Document) -> None:
    lines = REPO_CORPUS.read_text(encoding="utf-8").split("\n")
    for s in seed_doc.sections:
        assert lines[s.start_line - 1] == s.heading
        assert s.start_line <= s.end_line
    spans = [(s.start_line, s.end_line) for s in seed_doc.sections]
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))


def test_ids_unique_and_stable(seed_doc: Document) -> None:
    ids = [s.id for s in seed_doc.sections]
    assert len(set(ids)) == len(ids)
    assert ids == [s.id for s in read_document(REPO_CORPUS).sections]
    entropy = [s.id for s in seed_doc.sections if s.heading == "What is Entropy in Information Theory?"]
    assert entropy == ["what-is-entropy-in-information-theory", "what-is-entropy-in-information-theory-2"]


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("Explain Pearson’s Correlation Coefficient", "explain-pearsons-correlation-coefficient"),  # as always
        ("naïve Bayes: café_au lait", "naive-bayes-cafe-au-lait"),
        ("Привет, мир", "привет-мир"),  # was "section", for every heading in Cyrillic
        ("日本の歴史", "日本の歴史"),
        ("?!", "section"),
    ],
)
def test_ids_keep_letters_of_any_script(heading: str, slug: str) -> None:
    assert slugify(heading) == slug


def test_subheadings_not_in_toc_stay_inside_their_section(seed_doc: Document) -> None:
    by_heading = {s.heading: s for s in seed_doc.sections}
    batching = by_heading["What is Continuous and dynamic batching?"]
    assert "\nComparison and Use Cases\n" in f"\n{batching.text}\n"
    assert "Comparison and Use Cases" not in by_heading


def test_untitled_category_block_becomes_a_section(seed_doc: Document) -> None:
    # The "Machine Learning" category holds questions missing from the TOC; their text must not be lost.
    ml = [s for s in seed_doc.sections if s.category == "Machine Learning"]
    assert [s.heading for s in ml] == ["What is Dummy Variable Trap in ML?"]
    assert "What is Entropy (information theory)?" in ml[0].text
    assert len(seed_doc.sections) == 262


def test_markdown_sections_and_code_fences() -> None:
    text = "intro line\n# Guide\ntext a\n## Install\n```\n# not a heading\n```\nrun it\n## Use\nask\n"
    doc = parse_markdown(text, "guide.md", "guide/")
    assert [s.heading for s in doc.sections] == ["guide", "Guide", "Install", "Use"]
    assert [s.id for s in doc.sections] == ["guide/guide", "guide/guide-2", "guide/install", "guide/use"]
    install = doc.sections[2]
    assert "# not a heading" in install.text and install.category == "Guide"
    assert install.start_line == 4 and install.end_line == 8


def test_markdown_reads_as_text_a_person_sees() -> None:
    """Front matter is not text; setext headings start sections; inline markup goes and a table row says what
    each cell is, so a quoted sentence reads like text; fenced code stays as written."""
    text = (
        "---\ntitle: Deploy guide\nauthor: ops\n---\n\nDeploy Guide\n============\n\nShip **Orbit** with `make`."
        "\n\nSettings\n--------\n\n| Option | Default | Meaning |\n|---|:---:|---|\n"
        "| `max_retries` | 8 | Retries before the [dead-letter](dlq.md) directory |\n| `buffer_dir` | /var/lib/x | |\n"
        "\n```\n**kept** | as | is\n```\nKeep *canary* at 5% and snake_case_names as they are.\n"
    )
    doc = parse_markdown(text, "deploy.md", "deploy/")
    assert [(s.heading, s.start_line) for s in doc.sections] == [("Deploy Guide", 6), ("Settings", 11)]
    assert doc.sections[0].text == "Ship Orbit with make."
    assert doc.sections[1].text.split("\n") == [
        "Option: max_retries; Default: 8; Meaning: Retries before the dead-letter directory.",
        "Option: buffer_dir; Default: /var/lib/x.",
        "",
        "```",
        "**kept** | as | is",
        "```",
        "Keep canary at 5% and snake_case_names as they are.",
    ]
    assert doc.sha256 == sha256_text(text)  # the file's own bytes identify it


@pytest.mark.parametrize(
    ("text", "sections"),
    [
        # a --- at the top without YAML keys is a thematic break, not front matter: nothing is lost
        (
            "---\n\nIntro.\n\n## Part\n\nPart text.\n\n---\n\nFooter.\n",
            [("t", "Intro."), ("Part", "Part text.\n\n\n\nFooter.")],
        ),
        # a code span is kept as written (its * and ** are not emphasis); emphasis outside it goes
        (
            "# T\nGlob `*.py` files, call `f(**kw)`, **bold** and *it*.\n",
            [("T", "Glob *.py files, call f(**kw), bold and it.")],
        ),
        # a fence closes only on its own character, at least as long: the inner ``` is code
        ("# T\n````\n```\n# inside\n```\n````\nafter\n", [("T", "````\n```\n# inside\n```\n````\nafter")]),
        # a thematic break is not text: "Setup" has none and is no section
        ("# G\n## Setup\n\n---\n\n### Install\n\nRun pip.\n", [("Install", "Run pip.")]),
        ("# G\n- item\n---\ntext\n", [("G", "- item\n\ntext")]),  # a list item over --- is no heading
        ("# Learn C#\ntext\n## Closed ##\nx\n", [("Learn C#", "text"), ("Closed", "x")]),  # C# keeps its #
        # a link target with parentheses, or in <angle brackets>, goes whole
        (
            "# T\nSee [Foo](https://en.wikipedia.org/wiki/Foo_(bar)) and [the spec](<docs/the spec.md>).\n",
            [("T", "See Foo and the spec.")],
        ),
        # only a one-line block under a lead-in joins it: two lines, or no colon before, stay code
        ("# T\nRun:\n```\na\nb\n```\n", [("T", "Run:\n```\na\nb\n```")]),
        ("# T\nText.\n```\nx\n```\n", [("T", "Text.\n```\nx\n```")]),
        # a review's cases: a "%%" that no comment closes is text, and hides nothing after it
        ("# D\nIt is 100%% done.\n## Later\nLater text.\n", [("D", "It is 100%% done."), ("Later", "Later text.")]),
        # an unclosed fence ends with its quote: the heading after it is a heading
        ("# D\n> ```\n> code\n\n## Later\nText.\n", [("D", "code"), ("Later", "Text.")]),
        # a bracketed lead-in is no link definition; "[x]: url" is
        ("# D\n[Important]: back up first.\n[x]: https://a.b\n", [("D", "[Important]: back up first.")]),
        # a heading ending in ":" keeps its command below; an unknown :word: and an undefined [^x] stay text
        ("## Install:\n```\nbrew install x\n```\n", [("Install:", "```\nbrew install x\n```")]),
        ("# D\nUse :memory: in array[^0-9] at x ^2.\n", [("D", "Use :memory: in array[^0-9] at x ^2.")]),
        # a line with a | over --- is a setext heading, not a table (no matching rule cells); "T" has no text
        ("# T\nOptions: -v | --verbose\n---\nMore.\n", [("Options: -v | --verbose", "More.")]),
    ],
)
def test_markdown_edge_cases(text: str, sections: list[tuple[str, str]]) -> None:
    assert [(s.heading, s.text) for s in parse_text(text, "t.md").sections] == sections


def test_obsidian_notes_read_as_the_note_shows() -> None:
    """A vault's notes: a hidden %% comment %% is never text (a reviewer's private remark was the whole answer),
    a highlight, a wikilink and a tag read as their words, an embed and a block id go, a callout is its title
    and its text, a task says whether it is done, "Attendees:" under "Date:" stays a line of its own, and a note
    without a top heading has its file name above its sections (the day of a daily note)."""
    note = (
        "> [!note] Budget\n> Approved budget is ==£45,000== for 2025, see [[Budget Sync|the sync]] #finance\n\n"
        "%% might be cut to £30,000, do not repeat %%\n%% a comment\nover two lines %%\n![[chart.png]]\n"
        "**Date:** 2025-03-14, room Kepler\n**Attendees:** Priya, [[Hana Sato]]\n\n"
        '> "You fall to the level of your systems." ^quote-systems\n'
    )
    doc = parse_markdown(f"# Alpha\n{note}", "Alpha.md")
    assert doc.sections[0].text.split("\n") == [
        "Budget.",
        "Approved budget is £45,000 for 2025, see the sync finance",
        *[""] * 5,
        "Date: 2025-03-14, room Kepler",
        "Attendees: Priya, Hana Sato",
        "",
        '"You fall to the level of your systems."',
    ]
    jupyter = parse_markdown("# T\nTime it with `%%timeit` in Jupyter.\n\nNext line.\n", "t.md")
    assert jupyter.sections[0].text == "Time it with %%timeit in Jupyter.\n\nNext line."  # a code span: no comment
    daily = parse_markdown("## Log\n- Kick-off\n\n## Todo\n- [x] Send goals\n- [ ] Book the MOT\n", "2025-03-10.md")
    assert [s.heading_path for s in daily.sections] == [("2025-03-10", "Log"), ("2025-03-10", "Todo")]
    assert daily.sections[1].text == "- Done: Send goals\n- To do: Book the MOT"


def test_mkdocs_pages_read_as_the_site_shows() -> None:
    """Admonitions and content tabs are their title and their dedented body (the code in a tab is code, a
    wrapped line is one sentence; a one-line command joins its lead-in, as a quotable how-to); footnotes,
    attribute lists, link definitions, [TOC], inline HTML and definition lists read as text; a changelog's
    "[2.3.0]" is the version; a front matter title heads a page without a top heading; a table with one-dash
    rules is a table."""
    page = (
        '---\ntitle: Snapvault docs\n---\n[TOC]\n\n## Mount {#mount}\n\n!!! danger "Do not expose the UI"\n'
        '    It has no authentication. It is not available\n    on Windows.[^1]\n\n=== "macOS"\n\n'
        "    ```bash\n    brew install snapvault\n    ```\n\n[^1]: Added in 2.2.0.\n\n## [2.3.0] - 2025-06-01\n\n"
        "Vault\n:   Where the <b>chunks</b> live.\n\n| | snapvault |\n|-|-|\n| Language | Rust |\n\n"
        "[2.3.0]: https://example.com/compare/v2.2.0...v2.3.0\n"
    )
    mount, release = parse_markdown(page, "index.md").sections
    assert mount.heading_path == ("Snapvault docs", "Mount")
    assert mount.text.split("\n") == [
        "Do not expose the UI.",
        "It has no authentication. It is not available on Windows.",
        "",
        "macOS: `brew install snapvault`.",  # a one-line command joins the line that introduces it
        *[""] * 5,
        "Footnote 1: Added in 2.2.0.",
    ]
    docusaurus = ":::tip[Keep it short]\nA box body line.\n:::\n\n::: warning\nSecond box.\n:::\n\n"
    docusaurus += "> [!NOTE]\n> A GitHub note.\n"  # GitHub's alert is an Obsidian callout
    assert parse_markdown(f"# T\n\n{docusaurus}", "t.md").sections[0].text.split("\n") == [
        "Keep it short.",
        "A box body line.",
        *["", ""],
        "Warning:",
        "Second box.",
        *["", ""],
        "Note:",
        "A GitHub note.",
    ]
    assert release.heading == "2.3.0 - 2025-06-01"
    assert release.text == "Vault: Where the chunks live.\n\n\n\nLanguage; snapvault: Rust."


def test_github_and_docusaurus_pages_read_as_rendered() -> None:
    """A repository's README and Docusaurus docs: MDX imports, comments and component tags are no text (a tab's
    label leads its text, so its one-line command is a quotable how-to), a centred <h1> is the title, a <summary>
    heads its answer, badges, emoji shortcodes and autolinks read as a page shows them, GitHub's old "> **Note**"
    is a callout, an escaped pipe stays in its cell (it made "draft" the scope), and a table without header words
    is a list of fields."""
    readme = (
        "import Tabs from '@theme/Tabs';\n\n<h1 align=\"center\">Ledgerly API</h1>\n\n"
        "[![build](https://x/badge.svg)](https://x/ci)\n\n## Install :rocket:\n\n{/* a hidden note */}\n<Tabs>\n"
        '<TabItem value="mac" label="macOS">\n\n```bash\nbrew install ledgerly\n```\n\n</TabItem>\n</Tabs>\n\n'
        "> **Note**\n> Docs at <https://ledgerly.dev/docs> :warning: at 10:30:00.\n\n"
        "| Method | Notes | Scope |\n|---|---|---|\n| GET | filter: `status=posted\\|draft` | ledgers:read |\n\n"
        "| | |\n|-|-|\n| **Status** | Accepted |\n\n<details>\n<summary>Why the name?</summary>\n\nIt won a vote.\n"
        "</details>\n"
    )
    title, install, faq = parse_markdown(readme, "README.md").sections
    assert (title.heading, title.text) == ("Ledgerly API", "build")
    assert install.heading_path == ("Ledgerly API", "Install")
    assert [line for line in install.text.split("\n") if line.strip()] == [
        "macOS: `brew install ledgerly`.",
        "Note:",
        "Docs at https://ledgerly.dev/docs at 10:30:00.",
        "Method: GET; Notes: filter: status=posted|draft; Scope: ledgers:read.",
        "Status: Accepted.",
    ]
    assert (faq.heading_path, faq.text.strip()) == (("Ledgerly API", "Install", "Why the name?"), "It won a vote.")


def test_fenced_code_is_never_quoted() -> None:
    """A pasted error message matched the error line of a troubleshooting page, which was then the answer:
    the lines of fenced code are no quotable sentences, the explanation after them is."""
    error = "Error: vault is locked by PID 48213 on host nas since this morning"
    text = f"```text\n{error}\n```\nAnother process holds the lock."
    sentences = split_sentences(text)
    words = [frozenset(s.lower().split()) for s in sentences]
    flags = quotable("The vault is locked", sentences, words, fenced_sentences(text))
    assert dict(zip(sentences, flags, strict=True)) == {
        "```text": False,
        error: False,
        "```": False,
        "Another process holds the lock.": True,
    }
    assert quotable("T", sentences, words) == [False, True, False, True]  # without the fences known: quoted


def test_a_notes_related_links_are_never_quoted() -> None:
    """ "What's still open on project alpha?" was answered with the note's "Related" wikilinks: like a reference
    list, a section of links is back matter, whose fragments are not quoted (another section's are)."""
    links = ["2025-03-14 Q3 Launch Review", "Alpha Launch Plan"]
    words = [frozenset(t.lower().split()) for t in links]
    assert quotable("Related", links, words) == [False, False]
    assert quotable("Open tasks", links, words) == [True, True]

    doc = parse_text("Some notes\nabout things.\n", "notes.txt")
    assert [(s.heading, s.text) for s in doc.sections] == [("notes", "Some notes\nabout things.")]
    steps = "To restore:\n\n1. Stop the servers.\n2. Copy the backup.\n3. Start them again.\n"  # a list in prose
    assert len(parse_text(steps, "restore.txt").sections) == 1


def test_numbered_paragraphs_of_plain_text_are_sections() -> None:
    """A policy of numbered paragraphs: each is a section headed by its number and run-in title, so a rule is
    quoted and cited as part of the rule it belongs to ("First class …" is rail travel, not air travel)."""
    text = (
        "ACME TRAVEL POLICY\nVersion 3.2\n\n1. Scope. This policy applies to all employees.\n\n"
        "2. Air travel. Employees must book economy class for flights shorter than six hours.\n\n"
        "3. Rail travel. Second-class tickets are the standard.\nFirst class is allowed for trips over three hours.\n"
        "\n3.1 Night trains: a sleeper berth may be booked for any journey that departs after 22:00 in the evening.\n"
    )
    doc = parse_text(text, "policy.txt", "policy/")
    assert [(s.id, s.heading, s.start_line, s.end_line) for s in doc.sections] == [
        ("policy/policy", "policy", 1, 2),
        ("policy/1-scope", "1. Scope", 4, 4),
        ("policy/2-air-travel", "2. Air travel", 6, 6),
        ("policy/3-rail-travel", "3. Rail travel", 8, 9),
        ("policy/3-1-night-trains", "3.1 Night trains", 11, 11),
    ]
    # a paragraph that opens with a decimal number is not paragraph 2.5, nor does it end the numbering
    figures = text.replace("\n\n3. Rail", "\n\n2.5 million kilometres were flown last year.\n\n3. Rail")
    assert [s.heading for s in parse_text(figures, "policy.txt").sections] == [s.heading for s in doc.sections]
    assert "2.5 million kilometres" in parse_text(figures, "policy.txt").sections[2].text
    abbreviated = parse_text("1. Meals, e.g. lunch, are capped.\n\n2. Hotels. Max 120.\n\n3. Taxis. Late.\n", "m.txt")
    assert [s.heading for s in abbreviated.sections] == ["1. Meals, e.g. lunch, are capped", "2. Hotels", "3. Taxis"]
    spans = sentence_spans(text)  # the spans cut as split_sentences() does: "3. Rail travel." is one sentence
    assert [strip_bullet(text[a:b]) for a, b in spans] == split_sentences(text)
    assert doc.sections[3].text == (
        "3. Rail travel. Second-class tickets are the standard.\nFirst class is allowed for trips over three hours."
    )


def test_a_runbook_headed_in_capitals_has_a_section_per_heading_and_whole_sentences() -> None:
    """A plain-text runbook: headings in capitals, paragraphs hard-wrapped at 72 columns. Each heading is a
    section (the whole file was one), and a wrap after "never by", before a quote or a bracket, or after a
    semicolon is no sentence end ("… reset by a Tier 2 lead, never by" was quoted as a sentence)."""
    text = (
        "RUNBOOK: Account lockout\nOwner: Support Tier 2\n=====================\n\nBACKGROUND\n"
        "After 5 failed password attempts within 10 minutes an account is locked; the customer gets an email\n"
        '"Your account was locked" with the IP address of the attempts.\n\nRESETTING 2FA\n'
        "The workspace Owner's 2FA can only be reset by a Tier 2 lead, never by\nTier 1. After a reset the user "
        "must set up 2FA again at the next login;\nbackup codes from before the reset stop working.\n\n"
        "NOTE: keep the ticket open.\nContact Security for anything odd\nRestart the agent\n"
    )
    doc = parse_text(text, "runbook.txt")
    assert [s.heading for s in doc.sections] == ["runbook", "BACKGROUND", "RESETTING 2FA"]
    assert doc.sections[1].text == (
        "After 5 failed password attempts within 10 minutes an account is locked; the customer gets an email "
        '"Your account was locked" with the IP address of the attempts.'
    )
    assert split_sentences(doc.sections[2].text)[:3] == [
        "The workspace Owner's 2FA can only be reset by a Tier 2 lead, never by Tier 1.",
        "After a reset the user must set up 2FA again at the next login; backup codes from before the reset stop "
        "working.",
        "NOTE: keep the ticket open.",
    ]
    # short lines in capitals stay lines: a title and its text, a list without bullets
    assert doc.sections[2].text.endswith("\nContact Security for anything odd\nRestart the agent")
    assert [s.heading for s in parse_text("ONE SHOUTED LINE\nText under it.\n", "a.txt").sections] == ["a"]


def test_a_full_stop_after_an_abbreviation_ends_no_sentence() -> None:
    """The guide's "Local Minimum vs. Global Minimum" was two "sentences", a manual's "Rev. C" board too; a real
    sentence end after a capital ("X and Y. It has …"), "etc." and "No." before a word still cut."""
    text = (
        "Gradient descent: Local Minimum vs. Global Minimum. Boards from Rev. C on (see Fig. 3) need it. "
        "Dr. Smith agrees. Use plan No. 5 today. No. It is between X and Y. It costs more, etc. Then stop."
    )
    assert split_sentences(text) == [
        "Gradient descent: Local Minimum vs. Global Minimum.",
        "Boards from Rev. C on (see Fig. 3) need it.",
        "Dr. Smith agrees.",
        "Use plan No. 5 today.",
        "No.",
        "It is between X and Y.",
        "It costs more, etc.",
        "Then stop.",
    ]
    assert [text[a:b] for a, b in sentence_spans(text)] == split_sentences(text)


def test_a_citation_or_a_name_initial_ends_no_sentence() -> None:
    """A researcher's notes cite "Hu et al. (2021)" and name "Edward J. Hu": quoted, they were cut into "Adapters were
    introduced by Edward Hu et al." and a bracket. An initial after a word in lower case still ends one."""
    text = (
        "LoRA was introduced by Edward J. Hu et al. (Microsoft, 2021). I re-read Vaswani et al. 2017 today. "
        "Reading group summaries - N. Weber. Names like “Mohit M.” or “M. Mayank” match. "
        "Drug A beat drug B. The gap was small."
    )
    assert split_sentences(text) == [
        "LoRA was introduced by Edward J. Hu et al. (Microsoft, 2021).",
        "I re-read Vaswani et al. 2017 today.",
        "Reading group summaries - N. Weber.",
        "Names like “Mohit M.” or “M. Mayank” match.",
        "Drug A beat drug B.",
        "The gap was small.",
    ]


def test_text_without_sentence_ends_is_cut_into_readable_pieces() -> None:
    """Lower-case notes run together, or one enormous line, would otherwise be one "sentence" quoted whole: an
    over-long one is cut at any sentence end, then into runs of whole words; the guide's sentences are untouched
    (its longest is under the limit), and the spans cut the raw text the same way."""
    notes = "- " + " ".join(f"they said item {i} costs {i} euros. we agreed to order it" for i in range(40))
    pieces = split_sentences(notes + "\nA normal line. Another one.")
    assert max(map(len, pieces)) <= MAX_SENTENCE_CHARS and pieces[-2:] == ["A normal line.", "Another one."]
    assert pieces[0] == "they said item 0 costs 0 euros."  # cut at its period although the next word is lower case
    dump = " ".join(["offsets"] * 5000)  # no punctuation at all
    assert all(len(p) <= MAX_SENTENCE_CHARS and p.startswith("offsets") for p in split_sentences(dump))
    for text in (notes, dump):
        assert [strip_bullet(text[a:b]) for a, b in sentence_spans(text)] == split_sentences(text)
    guide = REPO_CORPUS.read_text(encoding="utf-8")
    assert max(len(p) for p in split_sentences(guide)) < MAX_SENTENCE_CHARS


def test_empty_and_binary_documents_are_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInputError, match="empty"):
        parse_text("  \n", "x.txt")
    bad = tmp_path / "b.txt"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00bad")  # an image renamed .txt: said so, no iconv advice
    with pytest.raises(InvalidInputError, match=r"b\.txt: a PNG image, not a document \(askdoc reads PDF"):
        read_document(bad)
    bad.write_bytes(b"\x01\x02\x00\x00bad")  # unknown binary
    with pytest.raises(InvalidInputError, match="binary data"):
        read_document(bad)
    bad.write_bytes("café crème".encode("cp1252"))  # another encoding: the error says how to convert it
    with pytest.raises(InvalidInputError, match=r"not UTF-8 text .* iconv -f WINDOWS-1252 -t UTF-8"):
        read_document(bad)
    bad.write_bytes("no byte-order mark".encode("utf-16-le"))  # NULs: binary, or UTF-16 without its mark
    with pytest.raises(InvalidInputError, match=r"without a byte-order mark: .* iconv -f UTF-16LE"):
        read_document(bad)
    wide = tmp_path / "wide.txt"
    wide.write_bytes("\ufeffUTF-32 text is read too.".encode("utf-32-le"))
    assert read_document(wide).sections[0].text == "UTF-32 text is read too."
    notepad = tmp_path / "notepad.txt"  # Windows Notepad's "Unicode": UTF-16 with a byte-order mark
    notepad.write_bytes("\ufeffLe café est ouvert à 8 heures.".encode("utf-16-le"))
    assert read_document(notepad).sections[0].text == "Le café est ouvert à 8 heures."
    with pytest.raises(InvalidInputError, match="no such file"):
        read_document(tmp_path / "missing.md")
