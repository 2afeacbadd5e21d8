"""Real documents for the ingestion tests, written with real libraries: a PDF with an outline (fpdf2), an HTML
page, Markdown, and the broken files a user may hand over."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF


def write_pdf(path: Path, temperature: str = "1,234", outline: bool = True, numbered_bookmarks: bool = True) -> Path:
    """A three-page report; "2.1 Furnace temperature" on page 2 says the temperature (found only here). Without
    `numbered_bookmarks` the outline says "Furnace temperature", as Word exports it."""
    pdf = FPDF()
    pdf.set_title("Zorblax foundry report")
    pdf.set_font("Helvetica", size=12)

    def heading(title: str, level: int) -> None:
        if outline:
            pdf.start_section(title if numbered_bookmarks else title.split(" ", 1)[1], level=level)
        pdf.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")

    def para(text: str) -> None:
        pdf.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")

    pdf.add_page()
    para("Annual report of the Zorblax foundry, which casts church bells in bronze.")
    heading("1 Introduction", 0)
    para("The Zorblax foundry was founded by the guild of bell makers. It employs forty casters. " * 3)
    pdf.add_page()
    heading("2 Operations", 0)
    para("Operations ran all year without interruption.")
    heading("2.1 Furnace temperature", 1)
    para(f"The Zorblax furnace melts the bronze at {temperature} degrees Celsius before each casting. ")
    para("The molten bronze is then poured into a loam mould that dries for a week.")
    pdf.add_page()
    heading("3 Outlook", 0)
    para("Next year the foundry plans to cast a carillon of forty-nine bells for the harbour tower.")
    pdf.output(str(path))
    return path


HTML = """<!doctype html>
<html><head><title>Quokka care guide</title><script>var tracking = 1;</script><style>p {color: red}</style></head>
<body><nav><a href="/">Home</a> | <a href="/about">About us</a></nav>
<main>
<h1>Quokka care</h1><p>Quokkas are small <b>marsupials</b> from Rottnest Island.</p>
<h2>Feeding</h2><p>An adult quokka eats {food} every evening, never bread.</p>
<h3>Water</h3><p>Fresh water must be refilled twice a day.</p>
</main>
<footer>Copyright the quokka society</footer></body></html>
"""


def write_html(path: Path, food: str = "native grasses and sedge leaves") -> Path:
    path.write_text(HTML.replace("{food}", food), encoding="utf-8")
    return path


def write_markdown(path: Path, interval: str = "90 days") -> Path:
    path.write_text(
        "# Runbook\n## Restarting the frobnicator\nRun `frob restart --graceful` and wait for the green lamp.\n"
        f"## Rotating keys\nThe frobnicator's vault keys rotate every {interval} via the vault job.\n",
        encoding="utf-8",
    )
    return path


def write_bad_files(folder: Path) -> dict[str, str]:
    """Each bad file and a word its one-line reason must hold."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage\n%%EOF")
    (folder / "empty.md").write_text("   \n\n", encoding="utf-8")
    (folder / "photo.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (folder / "big.txt").write_text("a line of text\n" * 400, encoding="utf-8")  # 6,000 bytes
    return {"corrupt.pdf": "not a readable PDF", "empty.md": "empty", "photo.md": "a PNG image", "big.txt": "limit"}


def write_pdf_font_headings(path: Path, bold_subheading: bool = False) -> Path:
    """Two pages without an outline whose headings are only set larger (18 pt) than the body (11 pt); with
    `bold_subheading`, "Brass lamp" under "Lamp maintenance" is only set in bold at the body's size."""
    pdf = FPDF()

    def text(size: int, line: str, style: str = "") -> None:
        pdf.set_font("Helvetica", style=style, size=size)
        pdf.multi_cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")

    pdf.add_page()
    text(11, "Field notes of the Quillmoor lighthouse keepers, written each season.")
    text(18, "Lamp maintenance")
    if bold_subheading:
        text(11, "Brass lamp", "B")
    text(11, "The brass lamp of the Quillmoor lighthouse is polished every Tuesday with chalk paste. " * 2)
    text(18, "Fog signals")
    text(11, "In fog the keeper sounds the horn twice every ninety seconds until the fog lifts.")
    pdf.add_page()
    text(11, "The horn is tested each morning at dawn.")
    text(18, "Supply boat")
    text(11, "A supply boat from Harlow brings lamp oil and bread on the first day of each month.")
    pdf.output(str(path))
    return path


class _Handbook(FPDF):
    """Every page under a running header and over a "Page N of M" footer, as office PDFs are."""

    def header(self) -> None:
        self.set_font("Helvetica", "I", 9)
        self.cell(0, 8, "Acme Corp - Employee Handbook", new_x="LMARGIN", new_y="NEXT")

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", "", 9)
        self.cell(0, 8, f"Page {self.page_no()} of {{nb}}", align="C")


def write_pdf_print_furniture(path: Path) -> Path:
    """Two pages without an outline, each line set on its own so the breaks are known: a sentence that runs over the
    page break, a footnote marker after a number with its note at the page's foot, a list whose items end without
    a full stop, words broken at a line's end (one a compound, one a model number)."""
    pdf = _Handbook()

    def line(text: str, size: int = 11, style: str = "") -> None:
        pdf.set_font("Helvetica", style, size)
        pdf.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")

    pdf.add_page()
    line("Expenses", 16, "B")
    pdf.set_font("Helvetica", "", 11)
    pdf.write(7, "Claims are checked within a week. The model is trained with a batch size of 256")
    pdf.char_vpos = "SUP"  # the footnote marker: small, raised, glued to the number
    pdf.write(7, "2")
    pdf.char_vpos = "LINE"
    pdf.write(7, " on the claims of the last year.")
    pdf.ln(7)
    line("Travel rules:")
    line("- Economy class for flights under 6 hours")
    line("- Taxis only between 22:00 and 06:00")
    line("Owners should use the self-")
    line("cleaning drain kit of the PX-")
    line("40 and its configu-")
    line("ration guide.")
    pdf.write(7, "The tank holds 10")
    pdf.char_vpos = "SUP"  # an exponent, not a footnote: no note 6 below
    pdf.write(7, "6")
    pdf.char_vpos = "LINE"
    pdf.write(7, " litres.")
    pdf.ln(7)
    line("The finance controller, Dmitri Okonkwo, reviews")
    pdf.set_y(-30)
    line("2 Larger batches gave no gain in recall.", 8)
    pdf.add_page()
    line("every claim above 2,000 euros before it is paid. Receipts are kept for seven years.")
    pdf.output(str(path))
    return path


def write_pdf_slides(path: Path) -> Path:
    """Four 16:9 slides exported to PDF: a title in a large font, bullets without full stops, and a footer of three
    boxes on every slide: the date, the course, the slide number."""
    pdf = FPDF(orientation="L", format=(190.5, 338.7))
    pdf.set_auto_page_break(False)  # the footer sits in the bottom margin
    slides = [
        ("Lab 3", ["- Due: Friday, September 27 at 11:59 pm", "- Late penalty: 10% per day"]),
        ("Dropout", ["- Zeroes random units during training", "- p = 0.5 for hidden layers"]),
        ("Grading", ["- Labs are worth 8% of the final grade", "- The exam is closed book"]),
        ("Regularization", ["- L1 drives many weights exactly to zero", "- L2 shrinks all weights"]),
    ]
    for n, (title, bullets) in enumerate(slides, start=1):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 40)
        pdf.cell(0, 24, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 24)
        for bullet in bullets:
            pdf.cell(0, 14, bullet, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        for y, text in ((-24, "September 12, 2024"), (-18, "CS 229: Machine Learning"), (-12, str(n))):
            pdf.set_y(y)
            pdf.cell(0, 5, text)
    pdf.output(str(path))
    return path
