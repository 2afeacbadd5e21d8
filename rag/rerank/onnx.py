"""The cross-encoder on ONNX Runtime: the trained reranker scored without importing torch or transformers.

Importing them is most of a cold `askdoc ask` once a reranker is trained (the default mode then reranks): ~6 s
against well under 1 s for the rest on 2 CPU cores. The export (`reranker.onnx`) is written once into the
trained reranker's own folder, the first time it is loaded on a CPU; training replaces that whole folder, so
an export always belongs to the weights beside it. Tokenisation follows sentence-transformers' CrossEncoder:
(question, passage) pairs, truncated longest-first to max_length, each batch padded to its longest pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.atomic import staged_file
from index.embedders.onnx_export import export_transformer

ONNX_FILE = "reranker.onnx"


def export_cross_encoder(folder: Path) -> None:
    """Write `folder`/reranker.onnx from the cross-encoder saved there, atomically (a killed export leaves none)."""
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(folder, attn_implementation="eager").eval()
    with staged_file(folder / ONNX_FILE) as tmp:
        export_transformer(model, tmp, "logits")


class OnnxCrossEncoder:
    name = "onnx"

    def __init__(self, folder: Path, max_length: int) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only
        self._session = ort.InferenceSession(str(folder / ONNX_FILE), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        text = (folder / "tokenizer.json").read_text(encoding="utf-8")
        self._counter = Tokenizer.from_str(text)  # whole texts, for focus(): no truncation, no padding
        self._counter.no_truncation()
        self._counter.no_padding()
        self._pairs = Tokenizer.from_str(text)
        self._pairs.enable_truncation(max_length=max_length, strategy="longest_first")
        self._pairs.enable_padding(pad_id=self._pairs.token_to_id("[PAD]") or 0, pad_token="[PAD]")

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self._counter.encode_batch(list(texts), add_special_tokens=False)]

    def scores(self, question: str, texts: list[str], batch_size: int) -> np.ndarray:
        out = []
        for start in range(0, len(texts), batch_size):
            encodings = self._pairs.encode_batch([(question, t) for t in texts[start : start + batch_size]])
            feeds = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            logits = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
            out.append(logits.reshape(-1))
        return np.concatenate(out)
