"""The bi-encoder adaptation study (eval.tune_embedder): its pairs come from the corpus, a cloze positive no
longer holds its anchor, and no batch holds two pairs of one section (they would be each other's false
negatives)."""

from __future__ import annotations

from eval.tune_embedder import batches, pairs_from_index
from rag.retrieve import Retriever


def test_pairs_are_headings_generated_questions_and_cloze_sentences(retriever: Retriever) -> None:
    index = retriever.index
    pairs = pairs_from_index(index, cloze_per_passage=1, seed=0)
    headings = {s.heading for s in index.sections.values()}
    passages = {p.indexed_text for p in index.passages}
    assert len({a for a, _, _ in pairs} & headings) > 200  # nearly every section's heading is an anchor
    assert any(positive in passages for _, positive, _ in pairs)  # generated questions -> their passage
    cloze = [(a, positive) for a, positive, _ in pairs if a not in headings and positive not in passages]
    assert cloze and all(anchor not in positive for anchor, positive in cloze)


def test_a_batch_never_holds_two_pairs_of_one_section(retriever: Retriever) -> None:
    pairs = pairs_from_index(retriever.index, cloze_per_passage=1, seed=0)
    plan = batches(pairs, 32, seed=0)
    assert sorted(map(id, (p for b in plan for p in b))) == sorted(map(id, pairs))  # every pair, once
    assert all(len({s for _, _, s in b}) == len(b) <= 32 for b in plan)
