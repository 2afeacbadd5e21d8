"""Typo tolerance: a query word that neither the collection nor English knows is corrected to a collection word.

Both retrievers miss a misspelt key term: BM25 finds no such token and MiniLM's word pieces of "transfomers" are
not those of "transformers". SymSpell (symspellpy) proposes the closest words of the collection's own vocabulary.
It is conservative on purpose, because a wrong rewrite costs more than a missed one (measured on the dev set's tune
split, eval/results/retrieval/README.md): a word the collection or symspellpy's English frequency list knows is
never touched, nor one whose stem the collection knows ("tokenizer" → "tokenized"), nor a word under five letters
(abbreviations such as "conv", "vllm"); a correction must keep the first letter and must not just add or drop a
prefix or suffix ("qlora" → "lora", "codec" → "code", "reranking" → "ranking" are other words, not typos).
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

import regex
from symspellpy import SymSpell, Verbosity

from corpus.english import english_counts, english_words
from index.lexical import STOPWORDS, stem_all

# Letters (and combining marks) of any script: the words a typo can be in; digits and joins are left alone.
_WORD = regex.compile(r"\p{L}[\p{L}\p{M}]*")
MIN_LENGTH = 5  # shorter unknown words are mostly abbreviations, and every short word is close to many others
LONG_WORD = 8  # from this length two edits are allowed, below it one


@lru_cache(maxsize=1)
def _english_total() -> int:
    return sum(english_counts().values())


def english_rarity(word: str) -> float:
    """-log10 of a word's share of ordinary English: ~2 for "model", ~5 for "gradient", ~11.7 for a word the
    list does not hold (a name, a product, an abbreviation)."""
    return -math.log10(english_counts().get(word.lower(), 1) / _english_total())


# English words this common ("get", "after", "over", "New") only say how a question was phrased: listed as words the
# documents never use, they are noise beside the ones that matter ("sabbatical", "Berlin", "water" is 3.4).
COMMON_RARITY = 3.3


def notable(words: Iterable[str]) -> list[str]:
    """The words worth naming to a user, each once, in order: not a common English word."""
    return [w for w in dict.fromkeys(words) if english_rarity(w) >= COMMON_RARITY]


class Speller:
    """Corrections against one collection's words; the SymSpell index is built on the first unknown word."""

    def __init__(self, texts: Iterable[str]) -> None:
        self._counts = Counter(w for text in texts for w in _WORD.findall(unicodedata.normalize("NFC", text.lower())))
        self._stems = stem_all(" ".join(self._counts))
        self._symspell: SymSpell | None = None

    def known(self, word: str) -> bool:
        w = word.lower()
        return (
            len(w) < MIN_LENGTH
            or w in self._counts
            or w in STOPWORDS
            or w in english_words()
            or stem_all(w) <= self._stems
        )

    def correct(self, text: str) -> tuple[str, dict[str, str]]:
        """The text with unknown words replaced, and {typed word: correction} for each one replaced."""
        fixes: dict[str, str] = {}

        def replace(match: regex.Match[str]) -> str:
            word = match.group(0)
            if self.known(word):
                return word
            suggestion = self._suggest(word.lower())
            if suggestion is None:
                return word
            fixes[word] = suggestion
            return suggestion

        return _WORD.sub(replace, unicodedata.normalize("NFC", text)), fixes

    def _suggest(self, word: str) -> str | None:
        distance = 2 if len(word) >= LONG_WORD else 1
        for item in self._index().lookup(word, Verbosity.CLOSEST, max_edit_distance=distance):
            term = item.term
            if term[0] == word[0] and not (term in word or word in term):
                return term  # CLOSEST gives the nearest words, most frequent first
        return None

    def _index(self) -> SymSpell:
        if self._symspell is None:
            symspell = SymSpell(max_dictionary_edit_distance=2)
            for word, count in self._counts.items():
                if len(word) >= MIN_LENGTH - 1:
                    symspell.create_dictionary_entry(word, count)
            self._symspell = symspell  # only once complete: a concurrent search may read it
        return self._symspell
