"""Stable, readable section ids derived from headings."""

from __future__ import annotations

import re
import unicodedata

from corpus.errors import InvalidInputError

MAX_SLUG = 64


def slugify(text: str) -> str:
    """Lower-case words joined by "-": ASCII as it always was ("Pearson’s" -> "pearsons", "café" -> "cafe"), and
    letters of any other script kept ("Привет мир" -> "привет-мир"), where they used to leave only "section"."""
    norm = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in norm if ch.isascii() or ch.isalnum())  # accents and non-ASCII punctuation go
    slug = re.sub(r"[\W_]+", "-", kept.lower()).strip("-")
    if len(slug) > MAX_SLUG:
        # Cut at a word boundary so ids stay readable.
        slug = slug[:MAX_SLUG].rsplit("-", 1)[0]
    return slug or "section"


def unique_ids(headings: list[str], prefix: str = "") -> list[str]:
    """One id per heading, in order; a repeated heading gets -2, -3... so ids depend only on the document."""
    used: set[str] = set()
    out: list[str] = []
    for heading in headings:
        base = candidate = prefix + slugify(heading)
        n = 1
        while candidate in used:
            n += 1
            candidate = f"{base}-{n}"
        used.add(candidate)
        out.append(candidate)
    return out


def doc_prefix(section_id: str) -> str:
    """The id prefix of the document a section belongs to ("" for the default corpus, whose ids have no "/")."""
    head, sep, _ = section_id.partition("/")
    return head + "/" if sep else ""


DEFAULT_COLLECTION = "default"
COLLECTION_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
COLLECTION_NAME_RULE = "1 to 32 lower-case letters, digits, '-' or '_', starting with a letter or digit"


def check_collection_name(name: str) -> str:
    """A collection's name is a folder name under ASKDOC_INDEX_DIR: a short slug, nothing that could leave it."""
    if not isinstance(name, str) or not COLLECTION_NAME.fullmatch(name):
        raise InvalidInputError(f"bad collection name {name!r}: use {COLLECTION_NAME_RULE}")
    return name
