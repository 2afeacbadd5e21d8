"""The onnx backend: ONNX Runtime on the CPU plus the `tokenizers` package; imports neither torch nor
transformers. Tokenises, batches, pools and normalises as sentence-transformers does for a Transformer -> mean
Pooling -> Normalize model (texts sorted by length, each batch padded to its longest text, truncated at the
model's max_seq_length), so the vectors match its own (tests/test_embed_backends.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from corpus.errors import ModelNotFoundError
from index.atomic import read_json_object
from index.embedders.onnx_export import ONNX_FILE, SIDECAR, export_onnx, source_record


class OnnxBackend:
    name = "onnx"

    def __init__(self, directory: Path, sidecar: dict[str, Any]) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: the CLI prints askdoc's own lines, not the runtime's
        self._session = ort.InferenceSession(str(directory / ONNX_FILE), options, providers=["CPUExecutionProvider"])
        self.dim = int(sidecar["dim"])
        self.max_seq_length = int(sidecar["max_seq_length"])
        self._json = (directory / "tokenizer.json").read_text(encoding="utf-8")
        self._tokenizer = Tokenizer.from_str(self._json)
        # The tokenizer file of the bundled model pads and truncates to 128; sentence-transformers uses its own
        # max_seq_length and pads each batch to its longest text.
        self._tokenizer.enable_truncation(max_length=self.max_seq_length)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._inputs = {i.name for i in self._session.get_inputs()}

    def tokenizer_json(self) -> str:
        return self._json

    def encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")  # longest first, as sentence-transformers
        starts = range(0, len(texts), batch_size)
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="Batches")
        for start in starts:
            rows = order[start : start + batch_size]
            out[rows] = self._encode_batch([texts[i] for i in rows])
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.clip(norms, 1e-12, None)


def _read_sidecar(directory: Path) -> dict[str, Any] | None:
    return read_json_object(directory / SIDECAR)


def export_problem(directory: Path, model_id: str, model_path: str) -> str:
    """Why the export in `directory` cannot be used as it is ("" when it can): missing, made from other weights,
    or not the size it was written with."""
    sidecar = _read_sidecar(directory)
    if sidecar is None:
        return "none yet"
    wanted = source_record(model_id, model_path)
    if any(sidecar.get(k) != v for k, v in wanted.items()):
        return "exported from other weights"
    onnx = directory / ONNX_FILE
    if not onnx.is_file() or onnx.stat().st_size != sidecar.get("onnx_bytes"):
        return f"{onnx} is missing or damaged"
    return ""


def open_onnx(model_id: str, model_path: str, directory: Path, notify: Callable[[str], None]) -> OnnxBackend:
    """The export in `directory`, loaded; (re-)exported first when it is missing, stale or does not load."""
    problem = export_problem(directory, model_id, model_path)
    if not problem:
        try:
            return OnnxBackend(directory, _read_sidecar(directory) or {})
        except Exception as exc:  # any load failure of the file means the same: export it again
            problem = f"{directory / ONNX_FILE} does not load ({exc.__class__.__name__})"
    notify(f"exporting the embedder to ONNX in {directory} ({problem}; once)")
    _check_exporter()
    sidecar = export_onnx(model_id, model_path, directory)
    return OnnxBackend(directory, sidecar)


def _check_exporter() -> None:
    import importlib.util

    if importlib.util.find_spec("onnx") is None:
        raise ModelNotFoundError(
            "the onnx embed backend needs an export, and exporting needs the `onnx` package: install it, or set "
            "embed_backend to torch"
        )
