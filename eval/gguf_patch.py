"""Write trained weights back into a copy of the bundled GGUF file, so llama.cpp (the product's CPU backend) runs
the fine-tuned generator at the speed of the original (eval.tune_generator).

Only the tensors that were trained are replaced, written as F32; every other tensor is copied byte for byte in its
own quantization, and every metadata field (tokenizer, chat template) is kept. transformers reads GGUF attention
weights un-permuted (llama.cpp stores q and k rotated for its RoPE kernel), so they are permuted back here, as
llama.cpp's own converter does.
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np


def permute(weights: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's layout of a q or k projection (convert_hf_to_gguf.py LlamaModel.permute)."""
    rows = weights.shape[0]
    return weights.reshape(n_head, 2, rows // n_head // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def gguf_names(state: dict[str, np.ndarray], reader: gguf.GGUFReader) -> dict[str, np.ndarray]:
    """transformers parameter names -> GGUF tensor names, q and k permuted for llama.cpp."""
    arch = reader.get_field(gguf.Keys.General.ARCHITECTURE).contents()
    if arch != "llama":  # the name map and the q/k layout below are llama's (the bundled SmolLM2 is one)
        raise ValueError(f"cannot write weights into a {arch!r} GGUF file, only a llama one")
    blocks = reader.get_field(f"{arch}.block_count").contents()
    heads = reader.get_field(f"{arch}.attention.head_count").contents()
    kv_heads = reader.get_field(f"{arch}.attention.head_count_kv").contents()
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, blocks)
    out = {}
    for name, weights in state.items():
        if name.endswith("q_proj.weight"):
            weights = permute(weights, heads)
        elif name.endswith("k_proj.weight"):
            weights = permute(weights, kv_heads)
        mapped = names.get_name(name, try_suffixes=(".weight",))
        if mapped is None:
            raise ValueError(f"no GGUF tensor for {name}")
        out[mapped] = np.ascontiguousarray(weights, dtype=np.float32)
    return out


def patch_gguf(base: Path, state: dict[str, np.ndarray], out: Path) -> None:
    """A copy of `base` with the tensors of `state` (transformers names) replaced."""
    reader = gguf.GGUFReader(base)
    replace = gguf_names(state, reader)
    missing = set(replace) - {t.name for t in reader.tensors}
    if missing:
        raise ValueError(f"{base} has no tensor {sorted(missing)[0]}")
    arch = reader.get_field(gguf.Keys.General.ARCHITECTURE).contents()
    writer = gguf.GGUFWriter(out, arch=arch, endianess=reader.endianess)
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue  # the writer writes these itself
        kind = field.types[0]
        sub_type = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), kind, sub_type=sub_type)
    for t in reader.tensors:
        if t.name in replace:
            data = replace[t.name]
            writer.add_tensor_info(t.name, data.shape, data.dtype, data.nbytes, gguf.GGMLQuantizationType.F32)
        else:
            writer.add_tensor_info(t.name, t.data.shape, t.data.dtype, t.data.nbytes, t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for t in reader.tensors:
        writer.write_tensor_data(replace.get(t.name, t.data), tensor_endianess=reader.endianess)
    writer.close()
