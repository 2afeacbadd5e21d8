"""The Milvus search backend: the index's passages mirrored into a Milvus collection (pymilvus).

One row per passage, primary key = the passage's row in the stored index, holding its normalised vector (FLAT,
inner product: exact, as askdoc's own flat FAISS) and its text as askdoc's BM25 tokenizer makes it (stems,
stopwords out), which Milvus's own BM25 function turns into a sparse vector (whitespace analyzer, so both
backends count the same terms; k1 and b as bm25s uses them). The on-disk index stays the source of truth: the
collection's name carries a fingerprint of the passages it mirrors, and a collection that is missing, stale or
incomplete is (re)filled from the stored vectors when the index is opened, so nothing is embedded again.
Works the same against Milvus Lite (a local `.db` file) and a Milvus server or cluster (`http://host:19530`).
"""

from __future__ import annotations

import hashlib
import threading
from functools import cache
from typing import Any

import numpy as np
from pymilvus import AnnSearchRequest, DataType, Function, FunctionType, MilvusClient
from pymilvus.exceptions import MilvusException

from corpus.errors import IndexLoadError
from index.lexical import tokenize
from index.store import StoredIndex

# bm25s's defaults (index.lexical builds with them): same saturation and length normalisation.
BM25_K1 = 1.5
BM25_B = 0.75
BATCH = 512  # rows per insert call
CONNECT_TIMEOUT_S = 10.0
_SYNC = threading.Lock()


class MilvusBackend:
    def __init__(self, index: StoredIndex, uri: str = "", keep: str = "") -> None:
        """`keep`: a collection of the same index directory not to drop as stale (the one served until now)."""
        self.index = index
        self._keep = keep
        self.uri = uri or (f"{index.directory}.milvus.db" if index.directory else "")
        if not self.uri:
            raise IndexLoadError("index_backend milvus needs a Milvus URI: set ASKDOC_MILVUS_URI")
        self.client = _client(self.uri)
        self.collection = collection_name(index)
        with _SYNC:  # two threads opening one index must not drop the collection the other is filling
            self._guard(self._sync)

    def dense(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        data = [np.asarray(vector, dtype=np.float32).tolist()]
        return self._search(data, "vec", {"metric_type": "IP"}, k)

    def lexical(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        terms = self.terms(query)
        if not terms:
            return _empty()
        return self._search([terms], "sparse", {"metric_type": "BM25"}, k)

    def terms(self, query: str) -> str:
        """The query as the BM25 field holds text: askdoc's tokens the collection knows (as bm25s is queried)."""
        return " ".join(t for t in tokenize(query) if self.index.lexical.knows(t))

    def hybrid(self, vector: np.ndarray, query: str, k: int, ranker: Any) -> tuple[np.ndarray, np.ndarray]:
        """Milvus's own hybrid search (dense + BM25 fused by `ranker`, a pymilvus WeightedRanker or RRFRanker).
        Not used by the retriever, which fuses with askdoc's own rag.fusion; measured in bench/milvus_vs_faiss.py."""
        terms = self.terms(query)
        if not terms:  # nothing for BM25 to match: the dense ranking alone (a ranker wants every request)
            return self.dense(vector, k)
        requests = [
            AnnSearchRequest([np.asarray(vector, dtype=np.float32).tolist()], "vec", {"metric_type": "IP"}, k),
            AnnSearchRequest([terms], "sparse", {"metric_type": "BM25"}, k),
        ]
        hits = self._guard(lambda: self.client.hybrid_search(self.collection, requests, ranker, limit=k))[0]
        return _arrays(hits)

    def _search(self, data: list[Any], field: str, params: dict[str, Any], k: int) -> tuple[np.ndarray, np.ndarray]:
        if not self.index.passages:
            return _empty()
        limit = min(k, len(self.index.passages))
        hits = self._guard(
            lambda: self.client.search(self.collection, data=data, anns_field=field, limit=limit, search_params=params)
        )[0]
        return _arrays(hits)

    def _sync(self) -> None:
        """Make the collection mirror the index: keep it when complete, else drop and refill it from the index."""
        c, name = self.client, self.collection
        if c.has_collection(name):
            c.load_collection(name)
            if _count(c, name) == len(self.index.passages):
                return
            c.drop_collection(name)  # a fill that was cut short
        prefix = name.rsplit("_", 1)[0] + "_"
        for stale in c.list_collections():  # earlier versions of this same index directory
            if stale.startswith(prefix) and stale != self._keep:
                c.drop_collection(stale)
        c.create_collection(name, schema=_schema(self.index.manifest.embed_dim), index_params=_index_params(c))
        rows = [
            {"row": i, "vec": vec.tolist(), "terms": " ".join(tokenize(p.indexed_text)) or "_"}
            for i, (p, vec) in enumerate(zip(self.index.passages, self.index.vectors, strict=True))
        ]
        for start in range(0, len(rows), BATCH):
            c.insert(name, rows[start : start + BATCH])
        c.flush(name)
        c.load_collection(name)

    def _guard(self, call: Any) -> Any:
        """Run a Milvus call; its failure becomes one line for the user (IndexLoadError), not a traceback."""
        try:
            return call()
        except MilvusException as exc:
            raise IndexLoadError(f"Milvus at {self.uri}: {_one_line(exc)}") from None


def collection_name(index: StoredIndex) -> str:
    """askdoc_<index directory>_<passages>: a rebuilt or changed collection gets a new name, the old one is dropped."""
    where = hashlib.sha256(str(index.directory or "").encode()).hexdigest()[:8]
    h = hashlib.sha256()
    m = index.manifest
    # The tokenizer too: the copy's BM25 terms are split by it (index.lexical), so a new rule needs a new copy.
    h.update(f"{m.embed_model}\0{m.embed_dim}\0{m.chunker}\0{m.corpus_hash}\0{m.tokenizer}\n".encode())
    for p in index.passages:
        h.update(p.id.encode() + b"\n")
    return f"askdoc_{where}_{h.hexdigest()[:16]}"


@cache
def _client(uri: str) -> MilvusClient:
    """One client per URI and process (a Milvus Lite file is served by one local server per process)."""
    try:
        return MilvusClient(uri, timeout=CONNECT_TIMEOUT_S)
    except MilvusException as exc:
        why = _one_line(exc)
        if uri.endswith(".db"):  # Milvus Lite locks its file: a second process cannot open it
            why += " (a Milvus Lite file serves one process at a time: is another askdoc using it?)"
        raise IndexLoadError(f"cannot open Milvus at {uri}: {why}") from None


def _schema(dim: int) -> Any:
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field(
        "terms", DataType.VARCHAR, max_length=65535, enable_analyzer=True, analyzer_params={"tokenizer": "whitespace"}
    )
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        Function(name="bm25", function_type=FunctionType.BM25, input_field_names="terms", output_field_names="sparse")
    )
    return schema


def _index_params(client: Any) -> Any:
    params = client.prepare_index_params()
    params.add_index(field_name="vec", index_type="FLAT", metric_type="IP")
    params.add_index(
        field_name="sparse",
        index_type="SPARSE_INVERTED_INDEX",
        metric_type="BM25",
        params={"bm25_k1": BM25_K1, "bm25_b": BM25_B},
    )
    return params


def _count(client: Any, name: str) -> int:
    return int(client.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"])


def _arrays(hits: Any) -> tuple[np.ndarray, np.ndarray]:
    rows = np.array([h["id"] for h in hits], dtype=np.int64)
    return rows, np.array([h["distance"] for h in hits], dtype=np.float32)


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)


def _one_line(exc: Exception) -> str:
    return " ".join(str(getattr(exc, "message", "") or exc).split())
