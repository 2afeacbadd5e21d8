"""Each section's sentences and their vectors, computed at index build and stored with the index
(`sentences.npz`), so an answer embeds no evidence sentence at query time (rag/evidence.py reads them).

The file is optional: an index written before it existed loads as before, and its sections' sentences are
embedded when first needed. Each section's vectors are keyed by a digest of its sentence texts, so vectors made
by another sentence splitter are never used for the sentences of this one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from corpus.model import Section
from corpus.text import split_sentences

if TYPE_CHECKING:
    from index.embed import Embedder

SENTENCES_FILE = "sentences.npz"
_CALL = 1024  # sentences per embed call: large enough to sort well, small enough for a steady progress bar


def section_sentences(section: Section) -> list[str]:
    """The sentences of a section that evidence scoring reads, each once, in order."""
    return list(dict.fromkeys(split_sentences(section.text)))


def digest(texts: Iterable[str]) -> str:
    return hashlib.sha1("\0".join(texts).encode()).hexdigest()


@dataclass
class SentenceStore:
    """Sentence vectors of many sections: section i's rows are vectors[offsets[i]:offsets[i + 1]]."""

    ids: list[str]
    digests: list[str]
    offsets: np.ndarray
    vectors: np.ndarray
    _row: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._row = {sid: i for i, sid in enumerate(self.ids)}

    def get(self, section_id: str, texts: list[str]) -> np.ndarray | None:
        """The stored vectors of `texts` (the section's sentences now), or None when they were not stored."""
        i = self._row.get(section_id)
        if i is None or self.digests[i] != digest(texts):
            return None
        return self.vectors[self.offsets[i] : self.offsets[i + 1]]

    def save(self, path: Path) -> None:
        with open(path, "wb") as fh:  # a file object: np.savez would add ".npz" to a name
            np.savez(
                fh,
                ids=np.array(self.ids, dtype=str),
                digests=np.array(self.digests, dtype=str),
                offsets=self.offsets,
                vectors=self.vectors,
            )

    @classmethod
    def load(cls, path: Path) -> SentenceStore:
        with np.load(path, allow_pickle=False) as data:
            return cls(
                [str(s) for s in data["ids"]], [str(d) for d in data["digests"]], data["offsets"], data["vectors"]
            )

    def problems(self, section_ids: set[str], dim: int) -> list[str]:
        """What does not fit the index it was loaded with."""
        found = []
        if self.vectors.ndim != 2 or self.vectors.shape[1] != dim:
            found.append(f"{SENTENCES_FILE} has vectors of shape {self.vectors.shape}, expected (*, {dim})")
        if len(self.offsets) != len(self.ids) + 1 or int(self.offsets[-1]) != len(self.vectors):
            found.append(f"{SENTENCES_FILE} offsets do not fit its {len(self.ids)} sections")
        if not set(self.ids) <= section_ids:
            found.append(f"{SENTENCES_FILE} names sections missing from sections.jsonl")
        return found


def embed_sentences(
    sections: list[Section], embedder: Embedder, previous: SentenceStore | None = None, progress: bool = True
) -> SentenceStore:
    """Every section's sentence vectors; a section whose sentences `previous` holds keeps its vectors."""
    texts = [section_sentences(s) for s in sections]
    parts = [previous.get(s.id, t) if previous is not None else None for s, t in zip(sections, texts, strict=True)]
    todo = [i for i, part in enumerate(parts) if part is None]
    flat = [sentence for i in todo for sentence in texts[i]]
    # The new sections' sentences in a few large calls rather than one call per section: the backend sorts a
    # call's texts by length, so batches are full and little is padded (this step ~20 % faster). Vectors
    # differ from one-section-at-a-time ones only by rounding (cosine > 0.9999998).
    fresh = embedder.embed_in_calls(flat, _CALL, "Embedding sentences", "sentence", progress)
    bounds = np.cumsum([0] + [len(texts[i]) for i in todo])
    for i, lo, hi in zip(todo, bounds[:-1], bounds[1:], strict=True):
        parts[i] = fresh[lo:hi]
    offsets = np.cumsum([0] + [len(t) for t in texts]).astype(np.int64)
    vectors = np.concatenate(parts) if parts else np.zeros((0, embedder.dim), np.float32)
    return SentenceStore([s.id for s in sections], [digest(t) for t in texts], offsets, vectors.astype(np.float32))
