"""Plain records for documents, sections and passages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Section:
    """One heading and the text under it, as it stands in the source document."""

    id: str
    heading: str  # exactly the heading line of the document
    category: str
    text: str  # body without the heading line
    source: str  # document name (file name)
    start_line: int  # 1-based line of the heading
    end_line: int  # 1-based, inclusive
    # Added for documents of other formats; defaults keep sections.jsonl files written before them loadable.
    heading_path: tuple[str, ...] = ()  # outer headings first, this section's heading last
    page: int | None = None  # 1-based PDF page the section's text is on (a PDF section never spans pages)

    def __post_init__(self) -> None:
        if not isinstance(self.heading_path, tuple):  # read back from JSON as a list
            object.__setattr__(self, "heading_path", tuple(self.heading_path))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def passage_title(context: str, heading: str) -> str:
    """The first line of a passage's indexed text: its heading, after the headings it sits under."""
    return f"{context} › {heading}" if context else heading


@dataclass(frozen=True)
class Passage:
    """A window of a section's body that fits the embedding model; it always carries its heading."""

    id: str  # "<section id>#<n>"
    section_id: str
    heading: str
    text: str  # the window of the body (without heading)
    # The headings the section sits under ("Troubleshooting" for "High memory usage"), joined by " › ": below its
    # category, unless that is the document's title (corpus.chunk.titled_documents); "" for the guide, whose
    # sections sit under their part only. Default: older passages.jsonl.
    context: str = ""

    @property
    def indexed_text(self) -> str:
        """What the embedder and BM25 see: the heading (and the headings it sits under) gives every window its
        topic."""
        title = passage_title(self.context, self.heading)
        return f"{title}\n{self.text}" if self.text else title

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Document:
    name: str
    sha256: str
    sections: list[Section] = field(default_factory=list)
    toc: list[str] = field(default_factory=list)  # table-of-contents entries, when the document has one
