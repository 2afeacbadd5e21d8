"""Second stage: a cross-encoder rescores (question, heading + passage) pairs of the first stage's best sections.

Where the model comes from:
  * `reranker_model` set (env ASKDOC_RERANKER_MODEL): that local folder, any sentence-transformers CrossEncoder.
  * otherwise the domain reranker trained by `askdoc reranker train` (rag/train_reranker.py). It lives in a
    sibling of the index directory, `<index_dir>.reranker/`, not inside it: an index rebuild swaps the whole
    index directory, and a reranker that is still valid must survive that. Its manifest records the
    corpus_hash of the index it was trained for; one trained for another corpus is not used.

No usable model never breaks search: the Retriever says why once (notify) and serves hybrid results.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus.errors import ModelNotFoundError
from corpus.text import sentence_spans
from index.embed import pick_device
from index.lexical import tokenize
from index.store import StoredIndex
from rag.config import Settings

TokenCounter = Callable[[Sequence[str]], list[int]]  # word pieces per text, special tokens not counted

RERANKER_MANIFEST = "reranker_manifest.json"


def reranker_dir(index_dir: Path) -> Path:
    """Where the trained reranker of an index lives: `<index_dir>.reranker/`, beside the index."""
    index_dir = Path(index_dir)
    return index_dir.parent / f"{index_dir.name}.reranker"


def read_reranker_manifest(directory: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((directory / RERANKER_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def reranker_status(settings: Settings, corpus_hash: str) -> dict[str, Any]:
    """What mode rerank would use for an index: {"state": configured | current | stale | missing, "path", ...}."""
    if settings.reranker_model:
        return {"state": "configured", "path": settings.reranker_model}
    path = reranker_dir(settings.index_dir)
    manifest = read_reranker_manifest(path)
    if manifest is None:
        return {"state": "missing", "path": str(path)}
    state = "current" if manifest.get("corpus_hash") == corpus_hash else "stale"
    keep = ("created_at", "train_seconds", "final_loss", "steps")
    return {"state": state, "path": str(path), **{k: manifest[k] for k in keep if k in manifest}}


@dataclass
class Candidate:
    """One pair to score: a passage row of the index, and the text the cross-encoder sees for it."""

    row: int
    text: str


class RerankerUnavailable(ModelNotFoundError):
    pass


class Reranker:
    """Config in __init__, loading in warm_up(index), scoring in rerank()."""

    def __init__(self, settings: Settings, batch_size: int = 32) -> None:
        self.settings = settings
        self.batch_size = batch_size
        self.max_length = settings.rerank_max_length
        self.quantize = settings.rerank_quantize
        self.device = pick_device(settings.device) if settings.device != "auto" else "auto"
        self.source = ""  # the folder the model came from, once loaded
        self._model: Any = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def locate(self, index: StoredIndex) -> Path:
        """The folder to load, or RerankerUnavailable saying why there is none."""
        if self.settings.reranker_model:
            path = Path(self.settings.reranker_model).expanduser()
            if not path.is_dir():
                raise RerankerUnavailable(f"reranker_model {str(path)!r} is not a folder")
            return path
        path = reranker_dir(self.settings.index_dir)
        manifest = read_reranker_manifest(path)
        if manifest is None:
            raise RerankerUnavailable(f"no trained reranker at {path}: run `askdoc reranker train`")
        if manifest.get("corpus_hash") != index.manifest.corpus_hash:
            raise RerankerUnavailable(
                f"the reranker at {path} was trained for another version of the collection: run `askdoc reranker train`"
            )
        return path

    def warm_up(self, index: StoredIndex) -> None:
        if self._model is not None:
            return
        path = self.locate(index)
        self._model = load_cross_encoder(path, self.device, self.max_length, self.quantize)
        self.source = str(path)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        assert self._model is not None, "call warm_up() first"
        # verbose=False: whole passages are counted on purpose; the "longer than max length" warning is noise
        tokens = self._model.tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
        return [len(ids) for ids in tokens]

    def pair_text(self, question: str, heading: str, text: str) -> str:
        """What the cross-encoder reads of a passage for this question (see focus())."""
        return focus(question, heading, text, self.count_tokens, self.max_length)

    def score(self, question: str, texts: list[str]) -> list[float]:
        """Raw relevance logits, one per text (higher = more relevant)."""
        if not texts:
            return []
        import torch

        assert self._model is not None, "call warm_up() first"
        with torch.inference_mode():
            scores = self._model.predict(
                [(question, t) for t in texts],
                batch_size=self.batch_size,
                activation_fn=torch.nn.Identity(),
                show_progress_bar=False,
                convert_to_numpy=True,
            )
        return [float(s) for s in scores.reshape(-1)]

    def rerank(
        self, question: str, candidates: list[Candidate], timings: dict[str, float] | None = None
    ) -> list[tuple[int, float]]:
        """(row, score) for every candidate, best first."""
        t = time.perf_counter()
        scores = self.score(question, [c.text for c in candidates])
        if timings is not None:
            timings["rerank"] = (time.perf_counter() - t) * 1000.0
        return sorted(((c.row, s) for c, s in zip(candidates, scores, strict=True)), key=lambda x: (-x[1], x[0]))


def pair_text(heading: str, text: str) -> str:
    """What the cross-encoder reads of a passage: its heading, then its body."""
    if not heading or not text:
        return heading or text
    return f"{heading}\n{text}"


def focus(question: str, heading: str, text: str, count: TokenCounter, max_length: int) -> str:
    """Heading + the run of sentences around the one sharing most (stemmed) terms with the question.

    A (question, heading + passage) pair is cut at max_length word pieces, and a passage alone can be longer:
    plain truncation drops the end of the passage, which is where a detail question's answer often is. So a
    passage that does not fit is narrowed to the sentences that best match the question, grown both ways
    while they fit. Only scoring narrows: training on narrowed documents measured worse (rag/train_reranker.py).
    """
    if not text:
        return heading
    spans = sentence_spans(text)
    budget = max_length - 4 - sum(count([question, heading] if heading else [question]))  # 4: CLS, SEP x2, \n
    lengths = count([text[a:b] for a, b in spans]) if spans else []
    if not spans or sum(lengths) <= budget:
        return pair_text(heading, text)
    terms = set(tokenize(question))
    overlap = [len(terms.intersection(tokenize(text[a:b]))) for a, b in spans]
    best = max(range(len(spans)), key=lambda i: (overlap[i], -i))
    lo = hi = best
    used = lengths[best]
    grew = True
    while grew:
        grew = False
        if hi + 1 < len(spans) and used + lengths[hi + 1] <= budget:
            hi += 1
            used += lengths[hi]
            grew = True
        if lo > 0 and used + lengths[lo - 1] <= budget:
            lo -= 1
            used += lengths[lo]
            grew = True
    return pair_text(heading, text[spans[lo][0] : spans[hi][1]])  # as written: the model was trained on raw text


def load_cross_encoder(path: Path, device: str, max_length: int, quantize: bool = False) -> Any:
    from sentence_transformers import CrossEncoder

    device = pick_device(device)
    try:
        model = CrossEncoder(str(path), device=device, max_length=max_length, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise RerankerUnavailable(f"cannot load the reranker at {path}: {exc}") from None
    if quantize and device == "cpu":
        import torch

        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    model.eval()
    return model
