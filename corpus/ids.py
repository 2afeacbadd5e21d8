"""Stable, readable section ids derived from headings."""

from __future__ import annotations

import re
import unicodedata

MAX_SLUG = 64


def slugify(text: str) -> str:
    norm = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", norm).strip("-")
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
