"""Sections from the blocks a format parser finds: a heading, its path, its lines and (PDF) its page."""

from __future__ import annotations

from dataclasses import dataclass

from corpus.ids import unique_ids
from corpus.model import Document, Section


@dataclass(frozen=True)
class Block:
    heading: str
    path: tuple[str, ...]  # outer headings first, `heading` last
    lines: list[str]  # body lines, already cleaned
    start_line: int  # 1-based line of the heading: in the file (HTML), in the text the parser extracted (PDF)
    end_line: int | None = None  # its last line there (default: the heading's line plus its lines)
    page: int | None = None


def document_from_blocks(blocks: list[Block], name: str, id_prefix: str) -> Document:
    """One section per block that has text; the top-level heading of a nested one is its category."""
    kept = [b for b in blocks if any(line.strip() for line in b.lines)]
    ids = unique_ids([b.heading for b in kept], id_prefix)
    sections = [
        Section(
            id=sid,
            heading=b.heading,
            category=b.path[0] if len(b.path) > 1 else "",
            text="\n".join(b.lines).strip("\n"),
            source=name,
            start_line=b.start_line,
            end_line=b.end_line if b.end_line is not None else b.start_line + len(b.lines),
            heading_path=b.path,
            page=b.page,
        )
        for sid, b in zip(ids, kept, strict=True)
    ]
    return Document(name=name, sha256="", sections=sections)


def clean_lines(lines: list[str]) -> list[str]:
    """Whitespace runs as one space, blank lines dropped."""
    return [" ".join(line.split()) for line in lines if line.strip()]
