"""Named collections under one folder of indexes (ASKDOC_INDEX_DIR): where each lives, and their names.

The default collection lives at the top of the folder, as it always has, while it is the only one: an index is
replaced as a whole directory (index.atomic), so nothing else may live inside it. The first named collection
moves it (renames only: no rebuild, vectors and trained reranker kept) into `<folder>/default/`, beside
`<folder>/NAME/`. Until then every existing index dir, tool and test that reads `<folder>/manifest.json` works as
before; moving it only when a second collection appears keeps a single-collection user's files where they were.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from corpus.errors import AskdocError, CollectionNotFoundError
from corpus.ids import COLLECTION_NAME as _NAME
from corpus.ids import DEFAULT_COLLECTION as DEFAULT
from corpus.ids import check_collection_name as check_name
from index.store import MANIFEST, build_lock

_MOVING = ".default.moving"  # the default index's files on their way into <folder>/default/


def not_found(name: str) -> CollectionNotFoundError:
    return CollectionNotFoundError(
        f"collection {name!r} does not exist or is empty: add documents with "
        f"`askdoc index add --collection {name} FILE` (`askdoc index collections` lists them)",
        name,
    )


def collection_dir(root: Path, name: str) -> Path:
    """The index directory of collection `name` under the folder of indexes `root`."""
    check_name(name)
    _finish_move(root)
    if name != DEFAULT:
        return root / name
    if (root / MANIFEST).exists() or not ((root / DEFAULT).exists() or _named(root)):
        return root  # the single-collection layout (also where a first build goes)
    return root / DEFAULT


def names(root: Path) -> list[str]:
    """The collections that hold an index: the default first (when built), then the others by name."""
    default = [DEFAULT] if (collection_dir(root, DEFAULT) / MANIFEST).exists() else []
    return default + _named(root)


def _named(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(
        d.name for d in root.iterdir() if d.name != DEFAULT and _NAME.fullmatch(d.name) and (d / MANIFEST).exists()
    )


def make_room(root: Path, notify: Callable[[str], None]) -> None:
    """Before a named collection is created: move a default index kept at the top of `root` into root/default/.

    Under the default index's own write lock, so no writer of it is midway; the index files are moved one by one
    into a dot-named folder (the manifest first: a half-moved index is never taken for a finished one), which is
    then renamed into place, and the trained reranker beside it follows. An interrupted move is finished by the
    next askdoc command that looks at the folder (collection_dir).
    """
    if not (root / MANIFEST).exists():
        return
    with build_lock(root):
        if not (root / MANIFEST).exists():
            return
        moving = root / _MOVING
        moving.mkdir(exist_ok=True)
        os.rename(root / MANIFEST, moving / MANIFEST)
        _finish_move(root)
    notify(f"moved the default collection's index into {root / DEFAULT} (a second collection is being made)")


def _finish_move(root: Path) -> None:
    moving = root / _MOVING
    if not moving.is_dir():
        return
    for entry in root.iterdir():
        # Everything of the index (its files, bm25/ ...) but dot-named work files and other collections.
        if not entry.name.startswith(".") and entry.name != DEFAULT and not (entry / MANIFEST).exists():
            os.rename(entry, moving / entry.name)
    os.rename(moving, root / DEFAULT)
    reranker = root.parent / f"{root.name}.reranker"
    if reranker.is_dir() and not (root / f"{DEFAULT}.reranker").exists():
        os.rename(reranker, root / f"{DEFAULT}.reranker")


def current_dir(served: Path, attempts: int = 3, pause: float = 0.02) -> Path | None:
    """Where an index served from `served` is now, read only (a server asks; it must not finish a move another
    process is making): `served` itself, or `served`/default when a second collection moved the default there;
    None when neither holds one, checked a few times apart, since a save or a move leaves no manifest for a
    moment."""
    for attempt in range(attempts):
        for where in (served, served / DEFAULT):
            if (where / MANIFEST).exists():
                return where
        if attempt + 1 < attempts:
            time.sleep(pause)
    return None


def check_unmoved(index_dir: Path) -> None:
    """A writer that found the default at the top of the folder, before a second collection moved it, must not
    write it there again: a whole-directory swap of the folder would remove the other collections."""
    if (index_dir / DEFAULT / MANIFEST).exists() or (index_dir / _MOVING).exists():
        raise AskdocError(f"the default collection moved to {index_dir / DEFAULT} meanwhile: run the command again")
