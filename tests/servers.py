"""Real processes for tests: a free loopback port, a server logging to a file, a readiness poll, a sure stop, and a
command killed outright at a chosen moment."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def child_env(**askdoc: str) -> dict[str, str]:
    """The environment for a child process: this one's without any ASKDOC_* variable (none from the caller's
    shell, none a test set), plus the given ASKDOC_<NAME> values (keyword NAME)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDOC_")}
    return env | {f"ASKDOC_{name.upper()}": value for name, value in askdoc.items()}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running(
    argv: list[str],
    log_path: Path,
    ready: Callable[[], bool],
    timeout_s: float,
    env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `argv`, wait until `ready()` is true (an exception counts as not yet), stop it on exit.

    The log goes to a file, not a pipe: a full pipe would block the server."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{argv[:3]} exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if ready():
                    break
            except Exception:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{argv[:3]} was not ready within {timeout_s:.0f} s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


@contextlib.contextmanager
def askdoc_api(index_dir: Path, log_path: Path, command: list[str], **askdoc: str) -> Iterator[str]:
    """A real askdoc HTTP API over `index_dir` on a free loopback port: offline, models on the CPU, the given
    ASKDOC_* settings; yields its base URL once /readyz says the models are loaded. `command`: what follows
    `python` (`-m cli.main serve`, or uvicorn with the app factory); the host and port are appended."""
    port = free_port()
    env = child_env(index_dir=str(index_dir), device="cpu", **askdoc)
    env |= {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    base = f"http://127.0.0.1:{port}"
    argv = [sys.executable, *command, "--host", "127.0.0.1", "--port", str(port)]
    with running(argv, log_path, lambda: httpx.get(f"{base}/readyz", timeout=5).status_code == 200, 300, env):
        yield base


def kill_when(argv: list[str], env: dict[str, str], ready: Callable[[bytes], bool], limit_s: float = 600) -> bytes:
    """Run `argv`, SIGKILL it the moment `ready(stderr so far)` holds; return its stderr. Fails if it ends first."""
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = bytearray()
    reader = threading.Thread(target=lambda: [err.extend(b) for b in iter(lambda: proc.stderr.read1(4096), b"")])
    reader.start()
    deadline = time.monotonic() + limit_s
    try:
        while not ready(bytes(err)):
            assert proc.poll() is None, f"it ended before the kill:\n{err.decode(errors='replace')}"
            assert time.monotonic() < deadline, "no kill point within the time limit"
            time.sleep(0.001)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.join(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return bytes(err)


# The llama.cpp server needs the same workaround as the in-process backend (see skip_weight_repacking).
LLAMA_SERVER = (
    "import runpy, sys; from rag.generation.llamacpp import skip_weight_repacking; skip_weight_repacking(); "
    "sys.argv[1:] = {args!r}; runpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)"
)


@contextlib.contextmanager
def llama_server(gguf: str, log_path: Path) -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server (`python -m llama_cpp.server`) on a free loopback port with the given
    GGUF; yields its base URL (…/v1) once /v1/models answers."""
    port = free_port()
    args = ["--model", gguf, "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--verbose", "False"]
    # By default a new request cuts off the one being streamed: several askdoc workers would cut each other off.
    args += ["--interrupt_requests", "False"]
    url = f"http://127.0.0.1:{port}/v1"
    with running([sys.executable, "-c", LLAMA_SERVER.format(args=args)], log_path, lambda: _answers(url), 60):
        yield url


def _answers(url: str) -> bool:
    return httpx.get(f"{url}/models", timeout=2).status_code == 200
