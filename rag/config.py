"""The one settings object. Defaults live here; `ASKDOC_<FIELD>` environment variables override them, and CLI
flags / API parameters override those (Settings.from_env(**overrides))."""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from corpus.errors import InvalidInputError
from corpus.ids import DEFAULT_COLLECTION
from corpus.ids import check_collection_name as check_name
from index.backend import BACKENDS
from index.embedders import check_embed_backend
from index.kinds import EXACT_BELOW
from index.kinds import KINDS as FAISS_KINDS
from index.models import DEFAULT_EMBEDDER
from rag.generation.registry import check_backend

# rerank = hybrid, then the cross-encoder; auto = rerank when a trained reranker fits the collection, else hybrid
MODES = ("auto", "hybrid", "dense", "bm25", "rerank")
# Quote the evidence; let the LLM write from it (verified); let it pick evidence sentences by number, or copy
# spans of them, under a grammar (rag/constrained.py).
ANSWER_STYLES = ("extractive", "generate", "select", "copy")
K_MAX = 50  # sections a search or an answer may ask for
REPO_CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "data" / "interview_questions.txt"


def _default_index_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "askdoc" / "index"


@dataclass
class Settings:
    index_dir: Path = field(default_factory=_default_index_dir)  # the folder of indexes, one per collection
    collection: str = DEFAULT_COLLECTION  # which one to search, ask and change (index.collections)
    corpus_path: Path = REPO_CORPUS  # the default document, indexed on first use
    embed_model: str = DEFAULT_EMBEDDER
    # Where first-stage searches run (index/backend.py): "faiss" (in process) or "milvus" (a Milvus collection
    # mirroring the index; needs the `milvus` extra). milvus_uri: a server (http://host:19530) or a Milvus Lite
    # file; empty = `<index_dir>.milvus.db`.
    index_backend: str = "faiss"
    milvus_uri: str = ""
    # "auto": exact ("flat") below faiss_exact_below passages, "ivf" (approximate, memory-mapped) from there on;
    # or force "flat", "hnsw" or "ivf" (index/vectors.py, bench/results/scale_1m.md). Empty: as the index was last
    # built (`askdoc index build --faiss KIND` is kept by later commands), "auto" for a new one.
    faiss_kind: str = ""
    faiss_exact_below: int = EXACT_BELOW
    # How the embedder runs (index/embedders/): "onnx" = ONNX Runtime on an export of the same weights, kept in
    # <index_dir>.onnx/ (no torch/transformers import: a cold `askdoc ask` on a CPU is ~6 s faster); "torch" =
    # sentence-transformers (any model, CPU or CUDA); "auto" = onnx when it can run the model on the device.
    embed_backend: str = "auto"
    device: str = "auto"  # "auto" picks CUDA when available
    k: int = 5
    # hybrid: on the tune split as extended at stop 16 (173 answerable questions) the trained reranker no longer
    # helps: hit@1 0.936 vs hybrid's 0.942, relevant citation 0.929 vs 0.935 (on the first 124 questions it had led,
    # 0.960 vs 0.944), and it costs ~140 ms a search on 2 cores. auto = rerank when a trained reranker fits the
    # collection, else hybrid: for those who train one (`askdoc reranker train`) and want it used.
    mode: str = "hybrid"
    # Weighted (min-max normalised scores, equal weights) beat RRF on the tune split: hit@1 0.919 vs 0.879,
    # MRR@10 0.944 vs 0.924 (held-out test split: 0.886 vs 0.870, 0.935 vs 0.919). RRF stays available.
    fusion: str = "weighted"  # "weighted" or "rrf"
    rrf_k: int = 60
    dense_weight: float = 0.5  # weighted fusion: dense share, BM25 gets the rest
    # Correct misspelt query words to the collection's own (index/spelling.py): tune split hit@1 0.919 -> 0.944,
    # MRR@10 0.944 -> 0.964; no question without a typo changed rank.
    spell_correct: bool = True
    candidates: int = 30  # passages taken from each first-stage ranking before fusion
    max_question_chars: int = 2000
    # Documents (askdoc index add, POST /documents): a bigger file is skipped with this reason.
    max_document_bytes: int = 50 * 1024 * 1024
    max_upload_bytes: int = 200 * 1024 * 1024  # one POST /documents request, all its files together
    # Generation (answers).
    llm_backend: str = "auto"  # one of rag.generation.registry.BACKEND_NAMES
    llm_model: str = "smollm2"  # "smollm2" = the bundled GGUF; or a local path / hub id
    openai_base_url: str = "http://127.0.0.1:8080/v1"
    openai_model: str = "default"
    openai_api_key: str = "none"
    max_new_tokens: int = 128
    # llama.cpp threads; 0 = half the cores, which keeps searches served beside an answer and holds up when other
    # processes share the CPU. On an idle machine all cores are ~1.7x faster (bench/llm_backends.py llama.cpp:2).
    llm_threads: int = 0
    llm_n_ctx: int = 2048  # llama.cpp context window (prompt + answer tokens)
    # Refuse when the refusal model (rag/refusal.py, fitted by eval/calibrate.py on the tune splits of the dev set
    # and of the bundled users' collections) gives the collection less than this probability of answering. 0.5 is
    # the operating point chosen there.
    refuse_below: float = 0.5
    # "extractive": the answer quotes the best evidence sentences; "generate": the LLM writes from them and only
    # sentences the verifier supports are shown. Extractive won every answer and faithfulness measure on the tune
    # split (eval/results/answers/README.md).
    answer_style: str = "extractive"
    # HTTP API.
    api_key: str = ""  # when set, every endpoint but the health checks needs "Authorization: Bearer <key>"
    cors_origins: str = ""  # comma-separated origins; CORS stays off when empty
    max_pending_answers: int = 4  # answers queued or running at once; beyond that: 503 + Retry-After
    request_timeout_s: float = 120.0
    max_request_bytes: int = 1 << 20  # a request body beyond this gets 413 (1 MiB: a question is 2,000 characters)
    debug: bool = False  # log question text
    # Reranking.
    reranker_model: str = ""  # local CrossEncoder folder; empty = the one trained for the index
    rerank_candidates: int = 5  # first-stage (hybrid) sections the cross-encoder rescores
    rerank_passages: int = 1  # best passages per candidate section that get scored (each pair costs)
    # How the final order is made: "weighted" = (1 - rerank_weight) x first-stage score + rerank_weight x
    # reranker score, each min-max normalised over the candidates; "rrf" = the two ranks fused; "score" = the
    # reranker alone. Chosen on the dev set's tune split (eval/results/README.md).
    rerank_fusion: str = "weighted"
    rerank_weight: float = 0.3
    rerank_max_length: int = 128  # tokens per (question, passage) pair
    rerank_quantize: bool = False  # int8 dynamic quantisation of the linear layers (CPU only)

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Defaults, then ASKDOC_* variables, then non-None overrides (CLI flags, request fields)."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = os.environ.get(f"ASKDOC_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _coerce(f, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.validate()
        return settings

    def replace(self, **changes: Any) -> Settings:
        new = dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})
        new.validate()
        return new

    def validate(self) -> None:
        self.index_dir = Path(self.index_dir).expanduser()
        self.corpus_path = Path(self.corpus_path).expanduser()
        if self.index_dir.exists() and not self.index_dir.is_dir():
            raise InvalidInputError(f"index_dir {self.index_dir} is a file; give a folder (made when missing)")
        check_device(self.device)
        check_name(self.collection)
        check_choice("mode", self.mode, MODES)
        check_choice("answer_style", self.answer_style, ANSWER_STYLES)
        if self.fusion not in ("rrf", "weighted"):
            raise InvalidInputError(f"unknown fusion {self.fusion!r}; choose rrf or weighted")
        if self.rerank_fusion not in ("weighted", "rrf", "score"):
            raise InvalidInputError(f"unknown rerank_fusion {self.rerank_fusion!r}; choose weighted, rrf or score")
        check_probability("refuse_below", self.refuse_below)
        if not 0.0 <= self.rerank_weight <= 1.0:
            raise InvalidInputError(f"rerank_weight must be between 0 and 1, got {self.rerank_weight}")
        if not 1 <= self.rerank_candidates <= 100 or not 1 <= self.rerank_passages <= 10:
            raise InvalidInputError("rerank_candidates must be 1..100 and rerank_passages 1..10")
        check_backend(self.llm_backend)
        if self.faiss_kind and self.faiss_kind not in FAISS_KINDS:
            raise InvalidInputError(f"unknown FAISS index kind {self.faiss_kind!r}; choose {', '.join(FAISS_KINDS)}")
        if self.faiss_exact_below < 0:
            raise InvalidInputError(f"faiss_exact_below must be at least 0, got {self.faiss_exact_below}")
        check_embed_backend(self.embed_backend)
        check_k(self.k)
        check_choice("index_backend", self.index_backend, BACKENDS)
        if self.max_document_bytes < 1:
            raise InvalidInputError(f"max_document_bytes must be at least 1, got {self.max_document_bytes}")
        if self.max_request_bytes < 1:
            raise InvalidInputError(f"max_request_bytes must be at least 1, got {self.max_request_bytes}")
        if self.candidates < self.k:
            self.candidates = self.k


def collection_dir(settings: Settings) -> Path:
    """The index directory of the settings' collection (index.collections: where each one lives)."""
    from index.collections import collection_dir as under  # the index libraries load only when needed

    return under(settings.index_dir, settings.collection)


def check_device(device: str) -> None:
    """auto, or a torch device type (cpu, cuda, mps, xpu, ...) with an optional index; whether that device is there
    is checked when a model is put on it (cuda and mps: index.embed.pick_device)."""
    if not re.fullmatch(r"auto|(cpu|cuda|mps|xpu|hpu|npu|mtia)(:\d+)?", device):
        raise InvalidInputError(f"unknown device {device!r}; choose auto, cpu, cuda, cuda:N, mps, xpu, hpu or npu")


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InvalidInputError(f"unknown {name} {value!r}; choose one of {', '.join(choices)}")


def check_probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise InvalidInputError(f"{name} must be between 0 and 1, got {value}")


def check_k(k: int) -> None:
    if not 1 <= k <= K_MAX:
        raise InvalidInputError(f"k must be between 1 and {K_MAX}, got {k}")


def _coerce(f: dataclasses.Field[Any], raw: str) -> Any:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            return raw.strip().lower() in ("1", "true", "yes", "on")
        if kind == "Path":
            return Path(raw)
    except ValueError:
        raise InvalidInputError(f"ASKDOC_{f.name.upper()}={raw!r} is not a valid {kind}") from None
    return raw
