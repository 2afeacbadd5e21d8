"""Faults a user's machine has: a writer killed outright (kill -9, power loss) and a full disk.

The previous index must still load, unchanged; a full disk is one clear line; what a killed writer left behind is
swept by the next one. (A kill during `index add` is in test_documents, during reranker training in test_rerank,
truncated or tampered files in test_index.)
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from servers import ROOT, child_env, kill_when

from cli.main import main
from index import store
from index.atomic import sweep_abandoned
from rag.config import Settings

REBUILD = [sys.executable, "-m", "cli.main", "index", "build", "--rebuild", "--no-reranker"]


def staging(index_dir: Path) -> list[Path]:
    return sorted(index_dir.parent.glob(f".{index_dir.name}.tmp-*"))


def test_a_kill_while_the_index_is_written_leaves_the_previous_one(own_index: Settings, tmp_path: Path) -> None:
    index_dir = own_index.index_dir
    before = store.read_manifest(index_dir).to_dict()
    argv = [*REBUILD, "--index-dir", str(index_dir)]
    # Killed once the new index is being written beside the old one: the moment a non-atomic save would break it.
    kill_when(argv, child_env(device="cpu"), lambda _: bool(staging(index_dir)))
    loaded = store.load(index_dir)
    assert loaded.manifest.to_dict() == before and loaded.faiss.ntotal == len(loaded.passages)
    assert staging(index_dir), "the killed writer's half-written directory should be there to sweep"
    note = tmp_path / "note.md"
    note.write_text("# Greenhouse note\n\n## When are the tomatoes watered?\nThe tomatoes are watered at dawn.\n")
    assert main(["index", "add", str(note), "--index-dir", str(index_dir)]) == 0
    assert staging(index_dir) == [] and len(store.read_manifest(index_dir).documents) == 2


def test_the_next_writer_sweeps_only_what_dead_writers_left(tmp_path: Path) -> None:
    final = tmp_path / "idx"
    final.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    left = [tmp_path / name for name in (f".idx.tmp-{dead_pid}-0a1b", f".idx.old-{dead_pid}-0a1b", ".idx.tmp-9f8e")]
    live = [tmp_path / name for name in (f".idx.tmp-{os.getpid()}-1111", f".idx.reranker.tmp-{dead_pid}-2222")]
    for d in left + live:
        d.mkdir()
    assert sorted(sweep_abandoned(final)) == sorted(left)
    assert all(d.is_dir() for d in live) and final.is_dir()


def _rebuild_limited(index_dir: Path, file_bytes: int) -> subprocess.CompletedProcess[str]:
    """`askdoc index build --rebuild` where no file may grow beyond `file_bytes` (RLIMIT_FSIZE: writes fail EFBIG)."""
    argv = [*REBUILD, "--index-dir", str(index_dir)]

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))

    # The torch embedder: an ONNX export (made on first use beside the index, ~90 MB) is not what is tested here.
    return subprocess.run(
        argv,
        cwd=ROOT,
        env=child_env(device="cpu", embed_backend="torch"),
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=limit,
    )


def test_a_failed_write_is_one_line_and_keeps_the_index(own_index: Settings) -> None:
    index_dir = own_index.index_dir
    before = store.read_manifest(index_dir).to_dict()
    done = _rebuild_limited(index_dir, 200_000)  # every index file but the manifest is larger
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"askdoc: error: could not write {index_dir}: file too large"), done.stderr
    assert last.endswith("the previous version is unchanged") and "Traceback" not in done.stderr
    assert store.load(index_dir).manifest.to_dict() == before and staging(index_dir) == []


def _mount_tmpfs(target: Path, size: str) -> bool:
    target.mkdir()
    if shutil.which("mount") is None:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)], capture_output=True)
    return done.returncode == 0


def test_a_full_disk_is_one_line_and_keeps_the_index(own_index: Settings, tmp_path: Path) -> None:
    disk = tmp_path / "small-disk"
    size = sum(f.stat().st_size for f in own_index.index_dir.rglob("*") if f.is_file())
    if not _mount_tmpfs(
        disk, f"{size * 3 // 2 // 2**20 + 1}m"
    ):  # needs root with CAP_SYS_ADMIN; the RLIMIT test above covers the same path
        pytest.skip("cannot mount a small tmpfs here (not root, or no CAP_SYS_ADMIN): full-disk fault not run")
    try:
        index_dir = disk / "idx"
        shutil.copytree(own_index.index_dir, index_dir)  # a second copy cannot fit beside it
        before = store.read_manifest(index_dir).to_dict()
        done = _rebuild_limited(index_dir, resource.RLIM_INFINITY)
        assert done.returncode == 2, done.stderr
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith(f"askdoc: error: could not write {index_dir}: no space left on the device"), last
        assert "Traceback" not in done.stderr and staging(index_dir) == []
        assert store.load(index_dir).manifest.to_dict() == before
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def _mount_read_only(target: Path) -> bool:
    if shutil.which("mount") is None:
        return False
    bind = subprocess.run(["mount", "--bind", str(target), str(target)], capture_output=True)
    if bind.returncode != 0:
        return False
    if subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], capture_output=True).returncode != 0:
        subprocess.run(["umount", str(target)], check=False)
        return False
    return True


def test_a_read_only_index_answers_from_what_it_holds(
    own_index: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A shared or mounted index the user cannot write: a document edited since it was indexed cannot be re-read
    into it, so the answer comes from the indexed version, with one line that says so (it was a traceback from
    the lock file); a change to it is one clear error."""
    shared = tmp_path / "shared"
    index_dir = shared / "idx"
    shutil.copytree(own_index.index_dir, index_dir)
    note = tmp_path / "note.md"
    note.write_text("# Greenhouse note\n\n## When are the tomatoes watered?\nThe tomatoes are watered at dawn.\n")
    assert main(["index", "add", str(note), "--index-dir", str(index_dir)]) == 0
    note.write_text("# Greenhouse note\n\n## When are the tomatoes watered?\nThe tomatoes are watered at noon.\n")
    if not _mount_read_only(shared):  # needs root with CAP_SYS_ADMIN (CI); chmod does not stop root
        pytest.skip("cannot mount a folder read-only here (not root, or no CAP_SYS_ADMIN): read-only index not run")
    try:
        capsys.readouterr()
        assert main(["ask", "When are the tomatoes watered?", "--index-dir", str(index_dir)]) == 0
        out, err = capsys.readouterr()
        assert "watered at dawn" in out and "noon" not in out, out
        assert "read-only file system" in err and "answering from the indexed version" in err, err
        assert main(["index", "add", str(tmp_path / "note.md"), "--index-dir", str(index_dir)]) == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert err.startswith(f"askdoc: error: could not write {index_dir}: read-only file system"), err
    finally:
        subprocess.run(["umount", str(shared)], check=False)
