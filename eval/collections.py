"""The bundled users' collections (eval/data/collections): documents of the kinds people add to askdoc, each with
its own questions, so that what is fitted or measured on the guide can be checked on other documents too.

    notes      an Obsidian vault of personal and work notes (31 notes)
    ledgerly   a team's GitHub / Docusaurus repository docs (13 files)
    snapvault  a tool's MkDocs documentation (8 pages)
    course     a course's PDFs: slide decks, a handout, a form, a scanned and two password-protected files

Each was written by a reviewer blind to the dev set, with answerable and unanswerable questions (`NAME.jsonl`
beside the folder `NAME/`, in the dev set's format, split half tune and half test). Measure one with

    askdoc index add eval/data/collections/notes --collection notes
    askdoc eval --queries eval/data/collections/notes.jsonl --collection notes --answers --styles extractive
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from index.embed import Embedder
from index.ingest import expand_paths
from rag.collection import open_collection
from rag.config import Settings
from rag.pipeline import AskDoc
from rag.retrieve import Retriever

COLLECTIONS_DIR = Path(__file__).resolve().parent / "data" / "collections"


@dataclass(frozen=True)
class BundledCollection:
    name: str
    documents: Path  # the folder of its documents
    queries: Path  # its questions


def bundled() -> list[BundledCollection]:
    return [
        BundledCollection(q.stem, q.with_suffix(""), q)
        for q in sorted(COLLECTIONS_DIR.glob("*.jsonl"))
        if q.with_suffix("").is_dir()
    ]


def index_folder(settings: Settings) -> Path:
    """Where the bundled collections are indexed: beside the user's folder of indexes, never in it, so that no
    collection of the user's own is touched (a user may well have one called "notes")."""
    return settings.index_dir.parent / f"{settings.index_dir.name}.eval-collections"


def engine(settings: Settings, bundle: BundledCollection, embedder: Embedder) -> AskDoc:
    """An engine over `bundle`, its documents indexed first (a few seconds; a file unchanged since the last time
    is not read again), sharing the loaded `embedder`."""
    own = settings.replace(index_dir=index_folder(settings), collection=bundle.name)
    open_collection(own, embedder, progress=False).add(expand_paths([bundle.documents]))
    return AskDoc(own, Retriever(own, embedder=embedder, progress=False))
