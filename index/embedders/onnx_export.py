"""Exporting a sentence-transformers model's Transformer to ONNX, from the local weights (needs torch,
transformers and the `onnx` package; run once, at index build or when the export is missing or damaged).

The export holds the transformer only (input_ids, attention_mask, token_type_ids -> last_hidden_state); mean
pooling and normalisation run in numpy at query time (onnx_runtime.py), as sentence-transformers does them.
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from corpus.errors import ModelNotFoundError
from index.atomic import staged_dir

ONNX_FILE = "model.onnx"
SIDECAR = "export.json"  # what the export was made from; compared with the weights on every load
WEIGHTS = ("model.safetensors", "pytorch_model.bin")
OPSET = 17


def weights_file(model_path: str) -> Path:
    for name in WEIGHTS:
        if (Path(model_path) / name).is_file():
            return Path(model_path) / name
    raise ModelNotFoundError(f"{model_path} holds no {' or '.join(WEIGHTS)} to export to ONNX")


def source_record(model_id: str, model_path: str) -> dict[str, Any]:
    """The weights an export comes from, identified cheaply (path, size, mtime) so every load can check it."""
    weights = weights_file(model_path)
    stat = weights.stat()
    max_seq_length = json.loads((Path(model_path) / "sentence_bert_config.json").read_text())["max_seq_length"]
    return {
        "model_id": model_id,
        "weights": str(weights.resolve()),
        "weights_bytes": stat.st_size,
        "weights_mtime_ns": stat.st_mtime_ns,
        "max_seq_length": int(max_seq_length),
    }


def _one_output(model: Any, output: str) -> Any:
    """The model with positional inputs in a fixed order and one output tensor (its `output`), as the tracer
    needs it."""
    import torch

    class OneOutput(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return getattr(out, output)

    return OneOutput().eval()


def export_transformer(model: Any, path: Path, output: str) -> None:
    """torch.onnx.export of a BERT-like transformers model: (input_ids, attention_mask, token_type_ids) ->
    `output` ("last_hidden_state", "logits"), batch and length dynamic. Load the model with eager attention: it
    traces to plain ONNX ops (the fused SDPA kernel is the same arithmetic)."""
    import torch

    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = torch.ones((2, 8), dtype=torch.long)
    with torch.inference_mode():
        torch.onnx.export(
            _one_output(model, output),
            (sample, sample, torch.zeros_like(sample)),
            str(path),
            input_names=names,
            output_names=[output],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, output]},
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter: needs `onnx`, not onnxscript
        )


def export_onnx(model_id: str, model_path: str, target: Path) -> dict[str, Any]:
    """Write `target`/model.onnx, the tokenizer and export.json, atomically (a killed export leaves nothing half
    written). Returns the sidecar."""
    import torch
    from transformers import AutoModel

    record = source_record(model_id, model_path)
    started = time.perf_counter()
    try:
        model = AutoModel.from_pretrained(model_path, attn_implementation="eager").eval()
    except OSError as exc:
        raise ModelNotFoundError(f"cannot load embedding model {model_id!r} to export it: {exc}") from None
    with staged_dir(target) as tmp:
        export_transformer(model, tmp / ONNX_FILE, "last_hidden_state")
        shutil.copyfile(Path(model_path) / "tokenizer.json", tmp / "tokenizer.json")
        sidecar = {
            **record,
            "dim": int(model.config.hidden_size),
            "onnx_bytes": (tmp / ONNX_FILE).stat().st_size,
            "opset": OPSET,
            "torch": torch.__version__,
            "export_seconds": round(time.perf_counter() - started, 2),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (tmp / SIDECAR).write_text(json.dumps(sidecar, indent=2) + "\n")
    return sidecar
