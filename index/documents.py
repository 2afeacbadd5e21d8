"""The documents of a collection as records: how each is read in, named, listed and found by a user's reference."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

from corpus.errors import InvalidInputError
from corpus.ids import DEFAULT_COLLECTION, slugify
from corpus.model import Document
from corpus.parse import MAX_DOCUMENT_BYTES, read_document
from index.store import DocumentRecord

DEFAULT_ID = "default"  # how the default corpus is listed


def read_with_record(
    path: Path, id_prefix: str, default: bool, max_bytes: int = MAX_DOCUMENT_BYTES
) -> tuple[Document, DocumentRecord]:
    doc = read_document(path, id_prefix, max_bytes)
    return doc, record_for(path, doc, id_prefix, default)


def record_for(path: Path, doc: Document, id_prefix: str, default: bool) -> DocumentRecord:
    return DocumentRecord(
        path=str(path.resolve()),
        name=doc.name,
        sha256=doc.sha256,
        id_prefix=id_prefix,
        sections=len(doc.sections),
        default=default,
    )


def doc_id(record: DocumentRecord) -> str:
    """The id a document is listed and removed by: its section-id prefix, "default" for the default corpus."""
    return record.id_prefix.rstrip("/") or DEFAULT_ID


def remove_command(document: str, collection: str) -> str:
    """The command that drops a document from its collection, as it can be run."""
    where = "" if collection == DEFAULT_COLLECTION else f" --collection {collection}"
    return f"askdoc index remove {document}{where}"


def document_row(record: DocumentRecord) -> dict[str, Any]:
    """What `askdoc index list --json` and GET /documents show of a document."""
    return {
        "id": doc_id(record),
        "name": record.name,
        "path": record.path,
        "sha256": record.sha256,
        "sections": record.sections,
        "default": record.default,
        # The file was deleted or moved since it was added: its indexed text is still answered from.
        "file_exists": Path(record.path).is_file(),
    }


def removal_row(record: DocumentRecord, left: int, collection: str) -> dict[str, Any]:
    """What `askdoc index remove --json` and DELETE /documents/{id} answer: the document, and what is left."""
    return {"removed": document_row(record), "documents": left, "collection": collection}


def find_document(records: list[DocumentRecord], ref: str, collection: str = DEFAULT_COLLECTION) -> DocumentRecord:
    """The one document `ref` names: by id, by path, or by file name when only one document has it."""
    # Names compared composed (NFC): "café" typed on one keyboard may be stored decomposed by another system.
    ref_nfc, resolved = _nfc(ref), _nfc(str(Path(ref).expanduser().resolve()))
    found = [r for r in records if doc_id(r) == ref or _nfc(r.path) == resolved]
    if not found:
        found = [r for r in records if _nfc(r.name) == ref_nfc]
    if not found:
        if collection == DEFAULT_COLLECTION:
            where = "the default collection (`askdoc index list` shows them; another one: --collection NAME)"
        else:
            where = f"collection {collection!r} (`askdoc index list --collection {collection}` shows them)"
        raise InvalidInputError(f"no document {ref!r} in {where}")
    if len(found) > 1:
        ids = ", ".join(doc_id(r) for r in found)
        raise InvalidInputError(f"{len(found)} documents are named {ref!r} (ids {ids}): give the id or the path")
    if found[0].default:
        raise InvalidInputError("the default corpus cannot be removed")
    return found[0]


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def new_prefix(path: Path, used: set[str]) -> str:
    base = candidate = slugify(path.stem)
    n = 1
    while candidate + "/" in used:
        n += 1
        candidate = f"{base}-{n}"
    return candidate + "/"
