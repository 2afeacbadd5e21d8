from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from corpus.chunk import ChunkConfig, chunk_section, chunk_sections
from corpus.model import Document, Passage, Section
from index.embed import Embedder
from index.models import resolve_model


@pytest.fixture(scope="module")
def passages(seed_doc: Document, embedder: Embedder) -> list[Passage]:
    """The default corpus chunked once for the module (the default config, as the index chunks it)."""
    return chunk_sections(seed_doc.sections, embedder.count_tokens)


@pytest.fixture(scope="module")
def by_section(passages: list[Passage]) -> dict[str, list[Passage]]:
    """Each section's passages, in order: what chunk_section gives for it (chunk_sections concatenates them)."""
    return {sid: list(group) for sid, group in itertools.groupby(passages, key=lambda p: p.section_id)}


def test_no_passage_exceeds_the_model_window(passages: list[Passage], embedder: Embedder) -> None:
    from tokenizers import Tokenizer

    # The model's own tokenizer file, not the chunker's counter: an independent count.
    tokenizer = Tokenizer.from_file(str(Path(resolve_model(embedder.model_id)) / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    window = embedder.max_seq_length
    assert window == 256
    for p in passages:
        n = len(tokenizer.encode(p.indexed_text).ids)  # with [CLS]/[SEP]
        assert n <= window, (p.id, n)


def test_every_passage_carries_its_section_heading(seed_doc: Document, passages: list[Passage]) -> None:
    sections = {s.id: s for s in seed_doc.sections}
    assert {p.section_id for p in passages} == set(sections)
    for p in passages:
        assert p.heading == sections[p.section_id].heading
        assert p.indexed_text.startswith(p.heading + "\n") or p.indexed_text == p.heading


def test_long_section_is_split_with_overlap_and_loses_nothing(
    seed_doc: Document, embedder: Embedder, by_section: dict[str, list[Passage]]
) -> None:
    long = max(seed_doc.sections, key=lambda s: len(s.text))
    assert len(long.text) > 8000
    passages = chunk_section(long, embedder.count_tokens, ChunkConfig())
    assert passages == by_section[long.id]  # chunk_sections is chunk_section, section by section
    assert len(passages) >= 5
    joined = "\n".join(p.text for p in passages)
    for line in long.text.split("\n"):
        assert line.strip() in joined or all(w in joined for w in line.split())


def test_consecutive_passages_overlap(seed_doc: Document, by_section: dict[str, list[Passage]]) -> None:
    assert list(by_section) == [s.id for s in seed_doc.sections]  # every section's passages in one run, in order
    boundaries = overlapping = 0
    for passages in by_section.values():
        for a, b in itertools.pairwise(passages):
            boundaries += 1
            overlapping += b.text.split("\n")[0] in a.text
    # Only a window that ends in one sentence longer than the overlap budget starts its successor afresh.
    assert boundaries > 100 and overlapping / boundaries > 0.8, (overlapping, boundaries)


def test_chunker_is_pure_and_budgets_the_heading() -> None:
    words = lambda s: len(s.split())  # noqa: E731 - a stand-in tokenizer: one token per word
    section = Section("s", "one two three", "", "\n".join(f"w{i} x y z" for i in range(30)), "d", 1, 31)
    cfg = ChunkConfig(window=30, max_tokens=30, overlap_tokens=5, special_tokens=2)
    passages = chunk_section(section, words, cfg)
    assert passages == chunk_section(section, words, cfg)
    for p in passages:
        assert words(p.heading) + words(p.text) + 1 + 2 <= 30 + len(p.text.split("\n"))
    assert [p.id for p in passages] == [f"s#{i}" for i in range(len(passages))]


def test_empty_section_still_has_a_passage() -> None:
    section = Section("e", "Only a heading", "", "", "d", 1, 1)
    (p,) = chunk_section(section, lambda s: len(s.split()), ChunkConfig())
    assert p.text == "" and p.indexed_text == "Only a heading"


def test_a_documents_title_goes_with_every_passage(passages: list[Passage]) -> None:
    """Under one top heading, the document's title: every passage carries it, so "How much does the BrewMaster X7
    weigh?" can find the specifications rather than only the introduction that names the machine. The guide's top
    headings are its parts: they stay out (its passages carry no context)."""
    from corpus.parse import parse_text

    manual = parse_text(
        "# BrewMaster X7 Manual\nThank you for choosing it.\n## Specifications\n### Weight\nIt weighs 7.8 kg.\n"
        "## Cleaning\nNever use vinegar.\n",
        "manual.md",
    )
    contexts = {p.heading: p.context for p in chunk_sections(manual.sections, lambda s: len(s.split()))}
    assert contexts == {
        "BrewMaster X7 Manual": "",
        "Weight": "BrewMaster X7 Manual › Specifications",
        "Cleaning": "BrewMaster X7 Manual",
    }
    assert {p.context for p in passages} == {""}
    # two files of one name are two documents: one's parts do not untitle the other
    titled = parse_text("# Orbit\n## Setup\nRun it.\n", "README.md", "a/")
    parts = parse_text("# Install\nRun it.\n# Use\nAsk it.\n", "README.md", "b/")
    both = chunk_sections([*titled.sections, *parts.sections], lambda s: len(s.split()))
    assert [(p.section_id, p.context) for p in both] == [("a/setup", "Orbit"), ("b/install", ""), ("b/use", "")]
    # a deck's closing slide in the title's font is a top heading of its own; the deck keeps its title
    deck = "# Lecture 3\nGradient descent.\n## Agenda\nRecap.\n## Adam\nMomentum.\n## Summary\nDone.\n"
    deck += "# Questions?\nOffice hours.\n"
    slides = chunk_sections(parse_text(deck, "lecture03.md").sections, lambda s: len(s.split()))
    assert {p.heading: p.context for p in slides} == {
        "Lecture 3": "",
        "Agenda": "Lecture 3",
        "Adam": "Lecture 3",
        "Summary": "Lecture 3",
        "Questions?": "",
    }
