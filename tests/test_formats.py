"""PDF, HTML and the parser choice, on real files written by the tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from documents_factory import (
    write_bad_files,
    write_html,
    write_pdf,
    write_pdf_font_headings,
    write_pdf_print_furniture,
    write_pdf_slides,
)

from corpus.errors import InvalidInputError
from corpus.formats import parse_bytes
from corpus.formats.pdf_forms import form_values
from corpus.formats.pdf_text import contents_lines, reflow
from corpus.parse import file_sha256, load_file, read_document
from corpus.text import list_items, split_sentences
from rag.quotable import quotable


def test_pdf_sections_follow_the_outline_and_keep_their_page(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "report.pdf")
    doc = read_document(path, "report/")
    by_heading = {s.heading: s for s in doc.sections}
    assert list(by_heading) == [
        "Zorblax foundry report",
        "1 Introduction",
        "2 Operations",
        "2.1 Furnace temperature",
        "3 Outlook",
    ]
    furnace = by_heading["2.1 Furnace temperature"]
    assert furnace.page == 2 and furnace.heading_path == ("2 Operations", "2.1 Furnace temperature")
    assert furnace.category == "2 Operations" and furnace.id == "report/2-1-furnace-temperature"
    assert "1,234 degrees Celsius" in furnace.text and "2.1 Furnace" not in furnace.text
    assert [s.page for s in doc.sections] == [1, 1, 2, 2, 3]
    assert doc.sha256 == file_sha256(path) and all(s.source == "report.pdf" for s in doc.sections)


def test_bookmarks_without_their_section_numbers_still_cut_sections(tmp_path: Path) -> None:
    doc = read_document(write_pdf(tmp_path / "report.pdf", numbered_bookmarks=False), "report/")
    furnace = next(s for s in doc.sections if s.heading == "Furnace temperature")
    assert furnace.page == 2 and furnace.text.startswith("The Zorblax furnace melts the bronze at 1,234 degrees")
    assert len(doc.sections) == 5


def test_pdf_without_outline_is_cut_by_page(tmp_path: Path) -> None:
    doc = read_document(write_pdf(tmp_path / "plain.pdf", outline=False))
    assert [(s.heading, s.page) for s in doc.sections] == [
        ("Zorblax foundry report, page 1", 1),
        ("Zorblax foundry report, page 2", 2),
        ("Zorblax foundry report, page 3", 3),
    ]
    assert "1,234 degrees" in doc.sections[1].text


def test_pdf_without_outline_takes_headings_from_larger_fonts(tmp_path: Path) -> None:
    doc = read_document(write_pdf_font_headings(tmp_path / "notes.pdf"), "notes/")
    assert [(s.heading, s.page) for s in doc.sections] == [
        ("notes", 1),
        ("Lamp maintenance", 1),
        ("Fog signals", 1),
        ("Fog signals", 2),
        ("Supply boat", 2),
    ]
    fog = doc.sections[2]
    assert fog.id == "notes/fog-signals" and fog.heading_path == ("Fog signals",)
    assert "ninety seconds" in fog.text and "Fog signals" not in fog.text
    assert "dawn" in doc.sections[3].text and "chalk paste" in doc.sections[1].text


def test_a_bold_line_at_the_body_size_is_a_sub_heading(tmp_path: Path) -> None:
    """A Word document's sub-heading is often only bold: it starts a section one level under the larger heading,
    rather than being glued onto the sentence after it ("Brass lamp The brass lamp of …")."""
    doc = read_document(write_pdf_font_headings(tmp_path / "notes.pdf", bold_subheading=True), "notes/")
    assert [(s.heading, s.heading_path) for s in doc.sections][:3] == [
        ("notes", ("notes",)),
        ("Brass lamp", ("Lamp maintenance", "Brass lamp")),  # "Lamp maintenance" has no text of its own now
        ("Fog signals", ("Fog signals",)),
    ]
    assert doc.sections[1].text.startswith("The brass lamp of the Quillmoor lighthouse is polished")


def test_print_furniture_is_left_out_and_sentences_stay_whole(tmp_path: Path) -> None:
    """What a user's office PDF carries besides its text (a running header, page numbers, a footnote marker glued
    to a number) stays out of the sentences; a sentence over the page break is whole, on the page it starts."""
    doc = read_document(write_pdf_print_furniture(tmp_path / "handbook.pdf"), "handbook/")
    text = "\n".join(s.text for s in doc.sections)
    assert "Acme Corp - Employee Handbook" not in text and "Page 1 of 2" not in text and "Page 2" not in text
    assert "a batch size of 256 on the claims" in text  # not "2562"
    first = doc.sections[0]
    assert (first.heading, first.page) == ("Expenses", 1)
    assert first.text.split("\n") == [
        "Claims are checked within a week. The model is trained with a batch size of 256 on the claims of the last"
        " year.",
        "Travel rules:",
        "- Economy class for flights under 6 hours",  # a list item starts its own line
        "- Taxis only between 22:00 and 06:00 Owners should use the self-cleaning drain kit of the PX-40 and its"
        " configuration guide.",  # nothing tells the last item's end from the paragraph after it
        "The tank holds 106 litres.",  # a small raised digit without a note of its number is no marker: kept
        "The finance controller, Dmitri Okonkwo, reviews every claim above 2,000 euros before it is paid.",
        "Footnote 2: Larger batches gave no gain in recall.",
    ]
    assert [(s.page, s.text) for s in doc.sections[1:]] == [(2, "Receipts are kept for seven years.")]


def test_reflow_joins_visual_lines_into_sentences() -> None:
    lines = ["The furnace melts the", "bronze at high tempera-", "ture. Then it", "cools.", "Next paragraph."]
    assert reflow(lines) == ["The furnace melts the bronze at high temperature. Then it cools.", "Next paragraph."]


def test_html_main_text_and_heading_paths(tmp_path: Path) -> None:
    doc = read_document(write_html(tmp_path / "quokka.html"), "quokka/")
    assert [(s.heading, s.heading_path) for s in doc.sections] == [
        ("Quokka care", ("Quokka care",)),
        ("Feeding", ("Quokka care", "Feeding")),
        ("Water", ("Quokka care", "Feeding", "Water")),
    ]
    text = "\n".join(s.text for s in doc.sections)
    assert "small marsupials from Rottnest Island" in text  # inline markup stays inside its sentence
    for furniture in ("tracking", "color", "About us", "Copyright"):
        assert furniture not in text


def test_hard_wrapped_paragraphs_are_whole_sentences() -> None:
    """A paragraph wrapped at 72 columns is one paragraph: its line breaks are not sentence ends, so no answer
    quotes "… where they stay for seven" without "years before deletion." Lists, table rows, code, Markdown's
    hard breaks and short plain-text lines keep their line breaks."""
    wrapped = (
        "The data retention policy keeps application logs for thirty days in hot\n"
        "storage and then moves them to cold storage where they stay for seven\n"
        "years before deletion.\n"
    )
    whole = " ".join(wrapped.split())
    assert parse_bytes(wrapped.encode(), "notes.txt").sections[0].text == whole
    card = "Name: Ann Lee\nPhone: 555 0100\nRoom: 3.14\n"  # short lines without punctuation: a list
    assert parse_bytes(card.encode(), "card.txt").sections[0].text == card.strip()
    titled = 'Travel and Expense Policy of the ACME Corporation 2024\nIt says "book economy class."\nAlways.\n'
    assert parse_bytes(titled.encode(), "policy.txt").sections[0].text == titled.strip()  # a title; a closing quote
    steps = "Install the agent from the internal package mirror\nConfigure the proxy in /etc/agent/agent.conf\n"
    assert parse_bytes(steps.encode(), "steps.txt").sections[0].text == steps.strip()  # a list without bullets
    html = f"<html><body><h2>Retention</h2><p>{wrapped}</p><pre>keep\nthese lines</pre></body></html>"
    assert parse_bytes(html.encode(), "p.html").sections[0].text == f"{whole}\nkeep\nthese lines"
    markdown = (
        f"# Retention\n\n{wrapped}\n- Backups run nightly and are kept\n  for ninety days.\n"
        "- Restores need a ticket\n\n"
        "| Tier | Days |\n|---|---|\n| hot | 30 |\n| cold | 2555 |\n\n```\nrestore --from cold\n--dry-run\n```\n"
        "Ann Lee  \nOn-call lead\n+ plus item\n\n    indented code\n    stays as written\n"
    )
    assert parse_bytes(markdown.encode(), "r.md").sections[0].text.split("\n") == [
        whole,
        "",
        "- Backups run nightly and are kept for ninety days.",
        "- Restores need a ticket",
        "",
        "",  # the table's header row and rule: said in every row
        "",
        "Tier: hot; Days: 30.",
        "Tier: cold; Days: 2555.",
        "",
        "```",
        "restore --from cold",
        "--dry-run",
        "```",
        "Ann Lee  ",
        "On-call lead",
        "+ plus item",
        "",
        "    indented code",
        "    stays as written",
    ]


def test_html_is_sniffed_without_its_suffix() -> None:
    doc = parse_bytes(b"<!DOCTYPE html><html><body><h2>Hello</h2><p>World.</p></body></html>", "page.dat")
    assert [(s.heading, s.text) for s in doc.sections] == [("Hello", "World.")]


def test_html_sections_span_the_lines_of_the_file() -> None:
    """Line numbers point into the file as saved (the panel shows "office.html, lines 8–10"): a section runs from
    its heading to the line before the next one, the last to the end of the file."""
    page = "<html>\n<body>\n<h1>Office</h1>\n<p>Welcome.</p>\n<h2>Parking</h2>\n<p>40 spaces,\nby lottery.</p>\n"
    page += "</body>\n</html>\n"
    doc = parse_bytes(page.encode(), "office.html")
    assert [(s.heading, s.start_line, s.end_line) for s in doc.sections] == [("Office", 3, 4), ("Parking", 5, 9)]
    minified = b"<h1>Office</h1><p>Welcome.</p><!-- TODO:\nhide this --><h2>Parking</h2><p>40\nspaces.</p>"
    doc = parse_bytes(minified, "min.html")  # a comment is no text, even when its line breaks are collapsed
    assert [(s.text, s.start_line, s.end_line) for s in doc.sections] == [("Welcome.", 1, 1), ("40 spaces.", 2, 3)]


SAVED_PAGE = """<!DOCTYPE html><html><head><title>Velmora – Wiki</title></head>
<body class="single-post has-sidebar">
<div id="cookie-banner">We use cookies. Accept all?</div>
<a class="mw-jump-link" href="#content">Jump to navigation</a>
<article>
<header><h1>Velmora Instruments\u200b</h1><p class="byline">By Maren Østby, 3 April 2024</p></header>
<table class="infobox"><tr><th colspan="2">Velmora Instruments Oy</th></tr>
<tr><th>Founded</th><td>14 March 1987</td></tr><tr><th>Employees</th><td>2,340 (2023)</td></tr></table>
<h2>History<span class="mw-editsection">[ edit ]</span></h2>
<p>Velmora listed on the Helsinki Stock Exchange in 2004.<sup class="reference">[3]</sup></p>
<h2>Workers<a class="headerlink" href="#workers">¶</a></h2>
<table><tr><th>Parameter</th><th>Default</th></tr><tr><td>max_workers</td><td>8</td></tr></table>
<h2>FAQ</h2>
<details><summary>How long can I keep a book?</summary>Books are lent for 21 days.</details>
<details><summary>What are the late fees?</summary><p>We charge 25 cents per item per day.</p></details>
<dl><dt>Editor</dt><dd>Jonas Ek</dd></dl>
<div class="sharedaddy"><h3>Share this:</h3><a>Facebook</a></div>
<div id="jp-relatedposts"><h3>Related</h3><h4>Ferry fares to rise</h4></div>
<div id="comments" class="comments-area"><h2>4 thoughts</h2><p>The first boat leaves at 07:15.</p></div>
</article></body></html>"""


def test_a_saved_page_is_read_without_its_furniture() -> None:
    """What blog, wiki and documentation themes put around the text stays out (comments, sharing, related posts, a
    cookie notice, edit links, "¶" anchors, invisible characters); an article's own header stays; a table row says
    what its cells are; a FAQ's questions head sections of their own."""
    doc = parse_bytes(SAVED_PAGE.encode(), "velmora.html")
    assert [(s.heading, s.text) for s in doc.sections] == [
        (
            "Velmora Instruments",
            "By Maren Østby, 3 April 2024\nVelmora Instruments Oy.\nFounded: 14 March 1987.\nEmployees: 2,340 (2023).",
        ),
        ("History", "Velmora listed on the Helsinki Stock Exchange in 2004."),
        ("Workers", "Parameter: max_workers; Default: 8."),
        ("How long can I keep a book?", "Books are lent for 21 days."),
        ("What are the late fees?", "We charge 25 cents per item per day.\nEditor: Jonas Ek"),
    ]
    assert doc.sections[3].heading_path == ("Velmora Instruments", "FAQ", "How long can I keep a book?")
    aspnet = b'<body><form id="form1" action="./faq.aspx"><h2>Opening hours</h2><p>We open at 9.</p></form></body>'
    assert [(s.heading, s.text) for s in parse_bytes(aspnet, "faq.aspx.html").sections] == [
        ("Opening hours", "We open at 9.")
    ]
    forum = b"<body><article><p>Which glue holds teak?</p></article><article><p>Use epoxy on teak.</p></article></body>"
    assert "Use epoxy on teak." in parse_bytes(forum, "thread.html").sections[0].text  # every post, not the first


def test_help_centre_wiki_and_notion_exports_lose_their_chrome() -> None:
    """A support engineer's knowledge base: a static site's top bar ("Docs" became a section of its own), its
    "Was this page helpful?", edit link, pager and footer; Zendesk's author line; Confluence's "Created by …";
    Notion's page icon and property rows ("Tags: Admin Support." was quoted as the answer to a question about
    scopes). The article's text, a table and a callout stay."""
    static = (
        '<body><div class="topbar"><a class="brand" href="/">Docs</a></div><div class="content"><h1>Support SLA</h1>'
        "<p>Severity 1 gets a first response within 1 hour.</p>"
        '<div class="doc-feedback">Did this page help you? Yes No</div><div class="edit-link">Edit this page</div>'
        '<div class="pager"><a class="pager__prev">Previous: SSO</a></div></div>'
        '<div class="site-footer"><p class="copyright">© 2025 Lumio. Careers — we are hiring!</p></div></body>'
    )
    zendesk = (
        '<body><article class="article"><h1>Rate limiting</h1><div class="article-author">Priya Natarajan / '
        "2025-02-11 / Updated</div><p>The Free plan allows 60 requests a minute.</p></article></body>"
    )
    confluence = (
        '<body><h1 id="title-heading">Release notes</h1><div class="page-metadata">Created by Dana Whitfield, last '
        'modified on Mar 13, 2025</div><div class="wiki-content"><p>Version 4.1.0 added SCIM.</p></div></body>'
    )
    notion = (
        '<body><article class="page sans"><header><div class="page-header-icon undefined">🔑</div>'
        '<h1 class="page-title">API authentication</h1><table class="properties"><tr class="property-row '
        'property-row-multi_select"><th>Tags</th><td>API Support</td></tr></table></header><div class="page-body">'
        '<p>The API accepts API keys and OAuth 2.0 tokens.</p><figure class="callout">⚠️ Keys never expire.</figure>'
        "</div></article></body>"
    )
    assert [
        [(s.heading, s.text) for s in parse_bytes(page.encode(), name).sections]
        for page, name in [
            (static, "sla.html"),
            (zendesk, "rate.html"),
            (confluence, "notes.html"),
            (notion, "auth.html"),
        ]
    ] == [
        [("Support SLA", "Severity 1 gets a first response within 1 hour.")],
        [("Rate limiting", "The Free plan allows 60 requests a minute.")],
        [("Release notes", "Version 4.1.0 added SCIM.")],
        [("API authentication", "The API accepts API keys and OAuth 2.0 tokens.\n⚠️ Keys never expire.")],
    ]
    # ... but an id names its text, and a class only ending in a chrome word counts: real content stays
    guide = (
        '<body><article><section id="author-guidelines"><h2 id="customizing-the-footer">Customizing the footer</h2>'
        '<p>Set footer.text in the config.</p><div class="author-note">Keep the footer short.</div></section>'
        "</article></body>"
    )
    assert [(s.heading, s.text) for s in parse_bytes(guide.encode(), "guide.html").sections] == [
        ("Customizing the footer", "Set footer.text in the config.\nKeep the footer short.")
    ]


def test_a_page_is_read_in_the_charset_it_declares() -> None:
    """A page saved as windows-1252 says so in its <meta>; without one, the advice to convert keeps its suffix (as
    .txt it would be read as markup)."""
    head = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252"></head>'
    page = f"{head}<body><h1>Café Lindau</h1><p>The café opens at 05:30.</p></body></html>".encode("cp1252")
    assert [(s.heading, s.text) for s in parse_bytes(page, "cafe.html").sections] == [
        ("Café Lindau", "The café opens at 05:30.")
    ]
    with pytest.raises(InvalidInputError, match=r"iconv -f WINDOWS-1252 -t UTF-8 FILE > FILE\.utf8\.html"):
        parse_bytes(page.replace(head.encode(), b"<html>"), "cafe.html")
    with pytest.raises(InvalidInputError, match="binary data"):
        parse_bytes(b'<meta charset="windows-1252">\x00\x00 an image', "photo.html")


def test_a_pages_own_note_markers_are_left_out() -> None:
    """ "It opened in 1889.[3]" would show a [3] beside askdoc's [1]; an exponent stays."""
    page = b"<p>It opened in 1889.<sup>[3]</sup> Area is 5 m<sup>2</sup>.<sup>[citation needed]</sup></p>"
    assert parse_bytes(page, "eiffel.html").sections[0].text == "It opened in 1889. Area is 5 m2."


def test_markdown_sections_carry_heading_paths() -> None:
    doc = parse_bytes(b"# Guide\nintro\n## Install\nsteps\n### Linux\napt\n## Use\nask\n", "g.md")
    assert [s.heading_path for s in doc.sections] == [
        ("Guide",),
        ("Guide", "Install"),
        ("Guide", "Install", "Linux"),
        ("Guide", "Use"),
    ]


def test_each_bad_file_gets_a_one_line_reason(tmp_path: Path) -> None:
    expected = write_bad_files(tmp_path)
    for name, says in expected.items():
        with pytest.raises(InvalidInputError) as err:
            load_file(tmp_path / name, max_bytes=5000)
        message = str(err.value)
        assert says in message and "\n" not in message, (name, message)
    (tmp_path / "fake.pdf").write_text("just text", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="not a PDF"):
        load_file(tmp_path / "fake.pdf")


def test_a_pdf_locked_only_against_editing_is_read_and_a_password_is_said(tmp_path: Path) -> None:
    """AES needs pypdf's crypto extra: without it a PDF that any viewer opens (an owner password only, as course
    material is often shared) was "not a readable PDF (DependencyError …)". A user password is said so, with how
    to open it."""
    from pypdf import PdfReader, PdfWriter

    plain = write_pdf(tmp_path / "report.pdf")
    for user, name in (("", "locked.pdf"), ("s3cret", "secret.pdf")):
        writer = PdfWriter(clone_from=PdfReader(plain))
        writer.encrypt(user_password=user, owner_password="owner", algorithm="AES-256")
        writer.write(tmp_path / name)
    assert [s.heading for s in read_document(tmp_path / "locked.pdf").sections] == [
        s.heading for s in read_document(plain).sections
    ]
    with pytest.raises(InvalidInputError, match=r"encrypted with a password: .* qpdf --password=PASSWORD --decrypt"):
        read_document(tmp_path / "secret.pdf")


def test_slides_lose_their_three_line_footer_and_their_bullets_stay_items(tmp_path: Path) -> None:
    """A deck's footer is three boxes (date, course, slide number): the date, third line from the foot, was glued
    to every slide's last bullet ("Late penalty: 10% per day September 12, 2024"). The bullets that slides and
    word processors print ("–", "●", "○") start list items, and a bullet that says something is quotable although
    it is no sentence and its slide has a longer one ("Worth 8% of the final grade" was never quoted)."""
    slides = read_document(write_pdf_slides(tmp_path / "lecture.pdf")).sections
    assert [(s.heading, s.text) for s in slides[:2]] == [
        ("Lab 3", "- Due: Friday, September 27 at 11:59 pm\n- Late penalty: 10% per day"),
        ("Dropout", "- Zeroes random units during training\n- p = 0.5 for hidden layers"),
    ]
    assert not any("2024" in s.text or "CS 229" in s.text for s in slides)
    assert reflow(["• Dropout zeroes units", "– p = 0.5 for hidden layers", "● Gini impurity", "○ Entropy"]) == [
        "• Dropout zeroes units",
        "– p = 0.5 for hidden layers",
        "● Gini impurity",
        "○ Entropy",
    ]
    text = "Labs are graded within a week of the deadline and returned with written comments.\n"
    text += "- Worth 8% of the final grade\n- Grading:\n- Late Penalty Rules Apply"
    assert quotable_flags("Grading", text) == {
        "Labs are graded within a week of the deadline and returned with written comments.": True,
        "Worth 8% of the final grade": True,
        "Grading:": False,  # a list intro
        "Late Penalty Rules Apply": False,  # a sub-heading
    }


def quotable_flags(heading: str, text: str) -> dict[str, bool]:
    """Each sentence of a section's text, and whether the answer may quote it (its list items and fields known)."""
    sentences = split_sentences(text)
    words = [frozenset(t.lower().split()) for t in sentences]
    return dict(zip(sentences, quotable(heading, sentences, words, items=list_items(text)), strict=True))


def test_a_notes_field_lines_are_quotable_and_a_run_in_sub_heading_is_not() -> None:
    """Minutes write "Attendees: …" on a line of their own, no list marker, no full stop: the answer to "who
    attended?" (it was quoted only when nothing else in the section was a sentence). A label of three words or more is
    a run-in sub-heading, its title-case value no answer (the guide's "Denoising Score Matching Loss: Equation
    and Intuition")."""
    text = "The launch moved to July after a long discussion about the partners' conference.\n"
    text += "Attendees: Priya Raman, Hana Sato, me\nOwner: Priya Raman\nStatus: Accepted\n"
    text += "Tags: Admin, Support, Billing\n"
    text += "Denoising Score Matching Loss: Equation and Intuition"
    assert quotable_flags("Q3 Launch Review", text) == {
        "The launch moved to July after a long discussion about the partners' conference.": True,
        "Attendees: Priya Raman, Hana Sato, me": True,
        "Owner: Priya Raman": True,  # a field's value is a name: title case, and an answer
        "Status: Accepted": False,  # two words say too little alone
        "Tags: Admin, Support, Billing": False,  # about the page, not its subject
        "Denoising Score Matching Loss: Equation and Intuition": False,
    }


def test_a_printed_table_of_contents_is_no_text() -> None:
    """A handout's Contents page was quoted ("5 4.1 Feature scaling ........") and its title headed every numbered
    section ("Contents › 4 Practical advice"): its dot-leader entries and its title are left out, a sentence
    that ends in a number is not."""
    page = [
        "Contents",
        "1 Introduction .................... 3",
        "1.2 Gradient descent . . . . . . . . 4",
        "4.1 Feature scaling ........ 12",
        "The learning rate was 0.01 in all of the 12 runs.",
    ]
    assert contents_lines(page) == {0, 1, 2, 3}
    assert contents_lines(["Contents", "See the appendix .... 3"]) == set()  # one dotted line is no table


def test_a_filled_forms_values_are_read() -> None:
    """pypdf's text holds a form's labels, never what was filled in: a proposal form read as its blank self. Each
    filled field is a "- Label: value" item (the tooltip, else the field's name; a ticked box "yes")."""
    fields = {
        "team": {"/T": "team", "/FT": "/Tx", "/TU": "Team name", "/V": "Gradient  Descenders"},
        "gpu": {"/T": "gpu", "/FT": "/Btn", "/V": "/Yes"},
        "notes": {"/T": "notes", "/FT": "/Tx", "/V": ""},
        "opt_out": {"/T": "opt_out", "/FT": "/Btn", "/V": "/Off"},
        "track": {"/T": "track", "/FT": "/Btn", "/V": "/Research"},  # a radio button's choice
        "topics": {"/T": "topics", "/FT": "/Ch", "/V": ["NLP", "Vision"]},
        "signed": {"/T": "signed", "/FT": "/Sig", "/V": {"/Type": "/Sig"}},
    }
    assert form_values(fields) == [
        "- Team name: Gradient Descenders",
        "- Gpu: yes",
        "- Track: Research",
        "- Topics: NLP, Vision",
    ]
    assert reflow(["Team name: Gradient Descenders", "Dataset: Capital Bikeshare"]) == [
        "Team name: Gradient Descenders",
        "Dataset: Capital Bikeshare",
    ]  # a field under a field is no wrapped sentence


def test_a_pdf_table_is_read_row_by_row(tmp_path: Path) -> None:
    """A PDF table was one run of words glued to the paragraph after it, its bold header row a section heading;
    each row now says what its cells are, as HTML and Markdown tables do, and the paragraph after stays whole."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.multi_cell(0, 8, "4.1 Annual leave", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 5, "Annual leave depends on tenure, as the table shows.", new_x="LMARGIN", new_y="NEXT")
    rows = [["Tenure", "Annual leave (days)"], ["Less than 2 years", "25"], ["2 to 5 years", "27"]]
    rows.append(["Over 5 years", "30"])
    with pdf.table(col_widths=(60, 45), text_align="LEFT") as table:
        for cells in rows:
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.multi_cell(0, 5, "Carried-over days must be taken by 31 March of the following year.", new_x="LMARGIN")
    path = tmp_path / "leave.pdf"
    pdf.output(str(path))
    (section,) = load_file(path).sections
    assert section.heading == "4.1 Annual leave"
    assert section.text.splitlines()[1:] == [
        "Tenure: Less than 2 years; Annual leave (days): 25.",
        "Tenure: 2 to 5 years; Annual leave (days): 27.",
        "Tenure: Over 5 years; Annual leave (days): 30.",
        "Carried-over days must be taken by 31 March of the following year.",
    ]
