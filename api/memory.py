"""Keep a long-running server's memory flat: at most two glibc malloc arenas.

glibc gives each thread that allocates under contention an arena of its own, up to 8 per core. The server answers
from a thread pool (dozens of threads embedding, searching, generating), and memory freed in one arena is not
reused by threads on another, so resident memory creeps up for as long as the load lasts. Measured with
`python bench/load_api.py --endpoint mixed --clients 32 --seconds 600` (bench/results/reliability.md): +13.8 % RSS
after the warm-up and a 2.28 GiB peak with glibc's default, +0.1 % and 1.59 GiB with two arenas, at the same
request rate. A MALLOC_ARENA_MAX the user set wins.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

M_ARENA_MAX = -8  # glibc malloc.h
ARENAS = 2

log = logging.getLogger("askdoc.api")


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's arenas for the rest of this process's life; False where there is no glibc (musl, macOS)."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    ok = bool(mallopt(M_ARENA_MAX, arenas))
    if not ok:
        log.info("mallopt(M_ARENA_MAX) refused: memory may creep up under sustained load")
    return ok
