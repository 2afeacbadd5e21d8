"""What adding files to a collection does to each of them: the files a command names, and one result per file.

A result is one of added / replaced / unchanged / skipped (with the reason); an unreadable file is skipped and
never stops the others.
"""

from __future__ import annotations

import fnmatch
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from corpus.errors import InvalidInputError
from corpus.formats import SUFFIXES
from corpus.text import counted

STATUSES = ("added", "replaced", "unchanged", "skipped")


@dataclass
class FileResult:
    path: str
    status: str  # one of STATUSES
    reason: str = ""  # why it was skipped
    document: str = ""  # the document id it is indexed under
    sections: int = 0
    unreadable: bool = False  # skipped because it could not be read (not a duplicate): the command fails
    moved_from: str = ""  # replaced: the document's file was there, is gone, and this file holds the same content

    def line(self) -> str:
        if self.status == "skipped":
            return f"skipped    {self.path}: {self.reason}"
        moved = f"moved from {self.moved_from}; " if self.moved_from else ""
        detail = f" ({moved}{counted(self.sections, 'section')}, id {self.document})"
        return f"{self.status:<10} {self.path}{detail if self.status != 'unchanged' else ''}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def counts(results: list[FileResult]) -> dict[str, int]:
    """How many files ended in each status."""
    return {s: sum(r.status == s for r in results) for s in STATUSES}


def summary(results: list[FileResult]) -> str:
    return ", ".join(f"{n} {s}" for s, n in counts(results).items())


def _saved_page_resources(f: Path, top: Path) -> bool:
    """Whether `f` sits in the folder a browser saves beside a page ("Webpage, complete": page.html and
    page_files/, with the page's ads and frames as .html files of their own)."""
    for folder in f.relative_to(top).parents:
        page = top / folder.parent / folder.name.removesuffix("_files")
        if folder.name.endswith("_files") and any(page.with_name(page.name + s).exists() for s in (".html", ".htm")):
            return True
    return False


def expand_paths(paths: list[Path], glob: str | None = None) -> list[Path]:
    """Files as given, and the files under each directory (recursively, sorted) that match `glob` (by default
    those with a supported suffix). A missing path stays in the list: it is reported like any bad file. In a
    folder, a link to a file outside it is left out: adding a folder adds what is in it (`/etc/passwd` linked from
    a docs folder is not a document of it); a link given by name is followed; a saved page's `page_files/` folder
    is left out too."""
    out: list[Path] = []
    for path in paths:
        if not path.is_dir():
            out.append(path)
            continue
        inside = path.resolve()
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            if any(part.startswith(".") for part in f.relative_to(path).parts):
                continue  # hidden files and folders (.git, editor swap files)
            if _saved_page_resources(f, path):
                continue
            if not f.resolve().is_relative_to(inside):
                continue
            if glob is not None and not (fnmatch.fnmatch(f.name, glob) or f.relative_to(path).match(glob)):
                continue
            if glob is None and f.suffix.lower() not in SUFFIXES:
                continue
            out.append(f)
    if not out:
        raise InvalidInputError("no files to add" + (f" (none match {glob!r})" if glob else ""))
    return list(dict.fromkeys(out))
