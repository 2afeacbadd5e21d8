"""Replacing a directory as a whole: readers see the old one or the new one, never a half-written one.

Both the index and the trained reranker are written this way: into a fresh sibling temp directory, then renamed
into place. An interrupted write leaves the previous directory usable and only a dot-named temp dir behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def staged_dir(final_dir: Path) -> Iterator[Path]:
    """An empty temp directory beside `final_dir`; once the block succeeds it replaces `final_dir` in one rename.

    When the block (or the swap) fails, the temp directory is removed and `final_dir` is left as it was.
    """
    final_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = final_dir.parent / f".{final_dir.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        swap_in(tmp, final_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def swap_in(tmp_dir: Path, final_dir: Path) -> None:
    """Put `tmp_dir` at `final_dir`, removing what was there; both must be on one filesystem."""
    # A directory cannot be renamed over a non-empty one: move the old one aside first, then delete it.
    old = final_dir.parent / f".{final_dir.name}.old-{uuid.uuid4().hex[:8]}"
    if final_dir.exists():
        os.rename(final_dir, old)
    os.rename(tmp_dir, final_dir)
    shutil.rmtree(old, ignore_errors=True)
