"""Ordinary English words: symspellpy's frequency list, shared by PDF de-hyphenation and typo correction."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def english_counts() -> dict[str, int]:
    """symspellpy's English frequency list (82,765 words and their counts in a large English corpus)."""
    text = resources.files("symspellpy").joinpath("frequency_dictionary_en_82_765.txt").read_text(encoding="utf-8")
    return {word: int(count) for word, count in (line.split(" ", 1) for line in text.splitlines() if line)}


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """The words of that list: a user's ordinary word is not a typo; a word broken at a line end is one of them."""
    return frozenset(english_counts())
