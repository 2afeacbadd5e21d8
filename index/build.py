"""Build an index from parsed documents, or update one: chunk, embed (reusing vectors of unchanged passages), index."""

from __future__ import annotations

import numpy as np

from corpus.chunk import ChunkConfig, chunk_sections
from corpus.ids import doc_prefix
from corpus.model import Document, Passage, Section
from index.embed import Embedder
from index.kinds import EXACT_BELOW, resolve_kind
from index.lexical import TOKENIZER
from index.sentences import SentenceStore, embed_sentences
from index.store import DocumentRecord, Manifest, StoredIndex, assemble, corpus_hash


def build_index(
    documents: list[tuple[Document, DocumentRecord]],
    embedder: Embedder,
    faiss_kind: str = "flat",
    chunk_config: ChunkConfig | None = None,
    previous: StoredIndex | None = None,
    progress: bool = True,
    exact_below: int = EXACT_BELOW,
) -> StoredIndex:
    cfg = chunk_config or ChunkConfig()
    sections = [s for doc, _ in documents for s in doc.sections]
    passages = chunk_sections(sections, embedder.count_tokens, cfg)
    vectors = _embed(passages, embedder, previous, progress)
    records = [r for _, r in documents]
    return _finish(records, sections, passages, vectors, embedder, (faiss_kind, exact_below), cfg, previous, progress)


def update_index(
    previous: StoredIndex,
    records: list[DocumentRecord],
    added: list[Document],
    embedder: Embedder,
    faiss_kind: str = "flat",
    progress: bool = True,
    exact_below: int = EXACT_BELOW,
) -> StoredIndex:
    """`previous` with only the documents of `records` kept and the `added` ones chunked and embedded in: the
    sections, passages and vectors of the kept documents are taken as they are (nothing re-read, re-chunked or
    re-embedded); a passage of an added document whose text the previous index held keeps its vector."""
    cfg = ChunkConfig()
    replaced = {doc_prefix(s.id) for doc in added for s in doc.sections}
    keep = {r.id_prefix for r in records} - replaced
    rows = [i for i, p in enumerate(previous.passages) if doc_prefix(p.section_id) in keep]
    new_sections = [s for doc in added for s in doc.sections]
    new_passages = chunk_sections(new_sections, embedder.count_tokens, cfg)
    sections = [s for s in previous.sections.values() if doc_prefix(s.id) in keep] + new_sections
    passages = [previous.passages[i] for i in rows] + new_passages
    new_vectors = _embed(new_passages, embedder, previous, progress)
    vectors = np.concatenate([previous.vectors[rows], new_vectors]).astype(np.float32, copy=False)
    return _finish(records, sections, passages, vectors, embedder, (faiss_kind, exact_below), cfg, previous, progress)


def _reusable(previous: StoredIndex | None, embedder: Embedder) -> SentenceStore | None:
    """The previous index's sentence vectors when they come from the same model."""
    if previous is None or previous.manifest.embed_model != embedder.model_id:
        return None
    return previous.sentences


def _finish(
    records: list[DocumentRecord],
    sections: list[Section],
    passages: list[Passage],
    vectors: np.ndarray,
    embedder: Embedder,
    faiss: tuple[str, int],  # the kind asked for ("auto" or a kind), and auto's exact_below
    cfg: ChunkConfig,
    previous: StoredIndex | None,
    progress: bool,
) -> StoredIndex:
    """The index assembled, with its sections' sentence vectors (those `previous` holds for the model reused)."""
    manifest = Manifest(
        embed_model=embedder.model_id,
        embed_dim=embedder.dim,
        chunker=cfg.version,
        faiss_kind=resolve_kind(faiss[0], len(passages), faiss[1]),
        faiss_request=faiss[0],
        documents=records,
        counts={"documents": len(records), "sections": len(sections), "passages": len(passages)},
        corpus_hash=corpus_hash(records),
        tokenizer=TOKENIZER,
    )
    index = assemble(manifest, sections, passages, vectors)
    index.sentences = embed_sentences(sections, embedder, _reusable(previous, embedder), progress)
    return index


def _embed(passages: list[Passage], embedder: Embedder, previous: StoredIndex | None, progress: bool) -> np.ndarray:
    """Embed only what the previous index does not already hold for the same model and text. A passage's vector
    depends on nothing else, so a new chunker re-embeds only the passages it cuts differently."""
    known: dict[str, int] = {}
    if previous is not None and previous.manifest.embed_model == embedder.model_id:
        known = {p.indexed_text: i for i, p in enumerate(previous.passages)}
    todo = [i for i, p in enumerate(passages) if p.indexed_text not in known]
    vectors = np.zeros((len(passages), embedder.dim), dtype=np.float32)
    for i, p in enumerate(passages):
        if p.indexed_text in known and previous is not None:
            vectors[i] = previous.vectors[known[p.indexed_text]]
    if todo:
        texts = [passages[i].indexed_text for i in todo]
        vectors[todo] = embedder.embed_in_calls(texts, 64, "Embedding passages", "passage", progress)
    return vectors
