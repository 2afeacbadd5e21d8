"""Replacing a directory (or a file) as a whole: readers see the old one or the new one, never a half-written one.

Both the index and the trained reranker are written this way: into a fresh sibling temp directory, then renamed
into place. An interrupted write leaves the previous directory usable. A writer killed outright (kill -9, power
loss) cannot clean up its temp directory; its name carries the writer's process id, so the next writer removes
it once that process is gone.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from corpus.errors import IndexWriteError

# Failures of the machine rather than of askdoc, said in words: the user can free space or fix permissions.
_WRITE_ERRORS = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
                 errno.EFBIG: "file too large for this file system or limit", errno.EACCES: "permission denied",
                 errno.EROFS: "read-only file system"}  # fmt: skip


@contextlib.contextmanager
def staged_dir(final_dir: Path) -> Iterator[Path]:
    """An empty temp directory beside `final_dir`; once the block succeeds it replaces `final_dir` in one rename.

    When the block (or the swap) fails, the temp directory is removed and `final_dir` is left as it was. A full
    disk or a permission problem is raised as IndexWriteError, which names the directory and says the previous
    version is intact.
    """
    try:
        final_dir.parent.mkdir(parents=True, exist_ok=True)
        sweep_abandoned(final_dir)
        tmp = final_dir.parent / f".{final_dir.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
    except OSError as exc:
        raise write_error(final_dir, exc) from None
    try:
        yield tmp
        swap_in(tmp, final_dir)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise write_error(final_dir, exc) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def staged_file(final: Path) -> Iterator[Path]:
    """A temp path beside `final` to write; once the block succeeds it replaces `final` in one rename, so a reader
    sees the old file or the new one. When the block fails the temp file is removed and `final` is as it was."""
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def write_error(final_dir: Path, exc: OSError) -> OSError | IndexWriteError:
    reason = _WRITE_ERRORS.get(exc.errno or 0)
    if reason is None:  # not a condition the user can fix by freeing space or changing rights: keep the traceback
        return exc
    where = f" ({exc.filename})" if exc.filename else ""
    state = "the previous version is unchanged" if final_dir.exists() else "nothing was written"
    return IndexWriteError(f"could not write {final_dir}: {reason}{where}; {state}")


def swap_in(tmp_dir: Path, final_dir: Path) -> None:
    """Put `tmp_dir` at `final_dir`, removing what was there; both must be on one filesystem."""
    # A directory cannot be renamed over a non-empty one: move the old one aside first, then delete it.
    old = _set_aside(final_dir) if final_dir.exists() else None
    os.rename(tmp_dir, final_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def discard(final_dir: Path) -> None:
    """Remove `final_dir` as a whole: out of sight in one rename, then deleted (what a killed remover leaves
    behind is swept by the next writer, as a killed writer's)."""
    shutil.rmtree(_set_aside(final_dir), ignore_errors=True)


def _set_aside(final_dir: Path) -> Path:
    old = final_dir.parent / f".{final_dir.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    os.rename(final_dir, old)
    return old


def sweep_abandoned(final_dir: Path) -> list[Path]:
    """Remove the temp and set-aside directories of writers of `final_dir` that no longer run; return them.

    A directory of a live writer (another `askdoc index add` at this moment) is left alone. Names without a
    process id (written before ids were added) are swept too, since no running askdoc writes such names.
    """
    swept = []
    for path in final_dir.parent.glob(f".{final_dir.name}.*-*"):
        kind, _, tail = path.name.removeprefix(f".{final_dir.name}.").partition("-")
        pid = tail.split("-")[0] if tail.count("-") else ""
        if kind not in ("tmp", "old") or not path.is_dir() or (pid.isdigit() and _alive(int(pid))):
            continue
        shutil.rmtree(path, ignore_errors=True)
        swept.append(path)
    return swept


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def read_json_object(path: Path) -> dict[str, Any] | None:
    """A small JSON record written beside a staged directory's contents (a manifest, a sidecar); None when it is
    missing, unreadable or not an object, which its readers treat as "nothing usable there"."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
