"""Which parser reads a file: a PDF signature makes a PDF whatever the suffix; bytes that are not text are refused;
otherwise the suffix decides, and an unknown suffix is read as HTML when the text looks like HTML. Pure: bytes and
a name in, a Document out; an unreadable file raises InvalidInputError with a reason that does not name the file
(the caller does)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from corpus.errors import InvalidInputError
from corpus.formats.html import parse_html
from corpus.formats.pdf import parse_pdf
from corpus.model import Document
from corpus.parse import parse_text

TEXT_SUFFIXES = (".md", ".markdown", ".txt", ".text")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
SUFFIXES = (".pdf", *HTML_SUFFIXES, *TEXT_SUFFIXES)  # what a directory walk picks up by default
_HTML_START = ("<!doctype html", "<html")
_SIGNATURES = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive (Word, Excel and EPUB files are ones: save the document as PDF or text)"),
)


def parse_bytes(data: bytes, name: str, id_prefix: str = "") -> Document:
    if not data.strip():
        raise InvalidInputError("the document is empty")
    suffix = Path(name).suffix.lower()
    if data.startswith(b"%PDF-"):
        doc = parse_pdf(data, name, id_prefix)
    elif suffix == ".pdf":
        raise InvalidInputError("not a PDF (no %PDF- signature): corrupt or mislabelled")
    else:
        text = _html_text(data, suffix) if suffix in HTML_SUFFIXES else decode_text(data, suffix or ".txt")
        if suffix in HTML_SUFFIXES or (suffix not in TEXT_SUFFIXES and looks_like_html(text)):
            doc = parse_html(text, name, id_prefix)
        else:
            doc = parse_text(text, name, id_prefix)
    doc.sha256 = hashlib.sha256(data).hexdigest()  # of the bytes, so a file's hash tells whether it changed
    return doc


# Byte-order marks, longest first (UTF-32's starts like UTF-16's); UTF-16 is what Windows Notepad calls "Unicode".
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def _convert(encoding: str, suffix: str = ".txt") -> str:
    return f"convert such a file first, e.g. iconv -f {encoding} -t UTF-8 FILE > FILE.utf8{suffix}"


def _html_text(data: bytes, suffix: str) -> str:
    """A page's text: UTF-8 (or a byte-order mark's encoding), else the charset the page declares (a page saved as
    windows-1252 says so in its <meta>); the advice on failure keeps the page's suffix (as .txt it is no page)."""
    from bs4.dammit import EncodingDetector

    try:
        return decode_text(data, suffix)
    except InvalidInputError as exc:
        binary = b"\x00" in data[:8192]  # no declared charset makes an image a page
        declared = None if binary else EncodingDetector.find_declared_encoding(data, is_html=True)
        try:
            return data.decode(declared or "")  # none declared: LookupError
        except (LookupError, UnicodeDecodeError):
            raise exc from None


def decode_text(data: bytes, suffix: str = ".txt") -> str:
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), None)
    if encoding:
        try:
            return data.decode(encoding).removeprefix("\ufeff")
        except UnicodeDecodeError:
            pass  # a BOM by chance: judged as any other bytes below
    # A NUL byte is valid UTF-8 but never part of a text document: an image or archive renamed .md has them.
    if b"\x00" in data[:8192]:
        kind = next((kind for magic, kind in _SIGNATURES if data.startswith(magic)), None)
        if kind:  # the iconv advice would be wrong for an image an Obsidian vault keeps beside its notes
            raise InvalidInputError(f"{kind}, not a document (askdoc reads PDF, HTML, Markdown and plain text)")
        raise InvalidInputError(
            f"binary data, not UTF-8 text (or UTF-16 text without a byte-order mark: {_convert('UTF-16LE', suffix)}; "
            "askdoc reads PDF, HTML, Markdown and plain text)"
        )
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"not UTF-8 text (byte {exc.start}): binary data, or text saved in another encoding; "
            f"{_convert('WINDOWS-1252', suffix)} (askdoc reads PDF, HTML, Markdown and plain text)"
        ) from None


def looks_like_html(text: str) -> bool:
    return text.lstrip()[:200].lower().startswith(_HTML_START)
