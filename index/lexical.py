"""BM25 over passages (bm25s), with our own tokenizer so indexing and querying split text the same way."""

from __future__ import annotations

import unicodedata
from functools import cached_property, lru_cache
from pathlib import Path

import bm25s
import numpy as np
import regex

# A word: letters, digits and combining marks of any script, so "Sørensen", "Zürich" and "हिन्दी" are one word
# each; inner hyphens and apostrophes kept ("min-max", "Mamba's"). Text is composed (NFC) first (words()): PDFs
# and macOS often store "ü" as "u" + a combining diaeresis, which must match the "ü" a user types.
_PART = r"[\p{L}\p{N}][\p{L}\p{N}\p{M}]*"
WORD = regex.compile(rf"{_PART}(?:['-]{_PART})*")
# A dotted number ("3.1.0", "0.5", "Python 3.10"): tokenize() keeps it whole as well as its parts, so that
# "version 3.1.0" tells the release notes of 3.1.0 from those of 3.2.0, and "3.1" still meets "3.1.0" in part.
_DOTTED = regex.compile(r"(?<![\p{N}.])\p{N}+(?:\.\p{N}+)+")
# A calendar date, as notes, minutes and changelogs write it ("2025-03-14", "14 March", "March 14th", "Mar. 14"):
# tokenize() adds one token for its month and day ("date-03-14"), so "what did I do on 12 March?" meets the daily
# note "2025-03-12". The year is left out: questions rarely give it. "may" is the month only as "May" ("users over
# 18 may apply"), and no number runs into another ("IPv4 may", "Python 3.8 may", "Mar2025").
_MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
_MONTHS = tuple(name[:3] for name in _MONTH_NAMES)  # a month's number is its place here, plus one
# full names, then "sept" and the three-letter forms (longest first, so "sept" is not read as "sep" + "t")
_MONTH = rf"({'|'.join((*_MONTH_NAMES, 'sept', *_MONTHS))})\.?"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_DATES = (  # (pattern, group of the month, group of the day)
    (regex.compile(r"(?<![\p{N}-])\p{N}{4}-(\d{2})-(\d{2})(?![\p{N}-])"), 1, 2),
    (regex.compile(rf"(?i)(?<![\p{{L}}\p{{N}}.]){_DAY}\s+(?:of\s+)?{_MONTH}(?![\p{{L}}\p{{N}}])"), 2, 1),
    (regex.compile(rf"(?i)(?<![\p{{L}}\p{{N}}.]){_MONTH}\s+{_DAY}(?![\p{{N}}:]|\.\p{{N}})"), 1, 2),  # not "March 14:30"
)
# Written into each index's manifest: an index whose BM25 split words by another rule is rebuilt (its vectors are
# kept). Indexes from before the rule was named split at any letter outside a-z ("ascii").
TOKENIZER = "unicode+dotted+dates+stop"
# Small on purpose: question words like "why"/"how" (and "should", "much": a refusal said the documents "never
# mention: much") are stopwords for BM25 ranking, but domain words that look common ("model", "loss", "layer")
# carry meaning in this corpus.
# fmt: off
STOPWORDS = frozenset(
    {
        "a", "an", "and", "are", "as", "at", "be", "been", "being", "but", "by", "can", "could", "did", "do",
        "does", "doing", "for", "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its",
        "me", "my", "of", "on", "or", "our", "so", "than", "that", "the", "their", "them", "then", "there",
        "these", "they", "this", "those", "to", "was", "we", "were", "what", "when", "where", "which", "who",
        "whom", "why", "will", "with", "would", "you", "your", "yours", "about", "please", "explain", "describe",
        "tell", "between", "should", "shall", "must", "might", "much", "many",
    }
)
# fmt: on


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """A text's words, case kept (see WORD)."""
    return WORD.findall(unicodedata.normalize("NFC", text))


def tokenize(text: str) -> list[str]:
    stems = list(_stemmer().stemWords([w for w in words(text.lower()) if w not in STOPWORDS]))
    return stems + _DOTTED.findall(text) + dates(text)


def dates(text: str) -> list[str]:
    """A token per calendar date in the text, by month and day: "date-03-14" for "2025-03-14" and "14 March"."""
    out = []
    for pattern, month, day in _DATES:
        for m in pattern.finditer(text):
            if m.group(month).startswith(("may", "MAY")):
                continue  # the verb, not the month (which is written "May")
            name = m.group(month).lower()
            number = _MONTHS.index(name[:3]) + 1 if name[:3] in _MONTHS else int(name)
            if 1 <= number <= 12 and 1 <= int(m.group(day)) <= 31:
                out.append(f"date-{number:02d}-{int(m.group(day)):02d}")
    return out


def typed_words(text: str) -> list[str]:
    """A text's words as typed (case kept), a clitic dropped ("Mamba's" -> "Mamba", "what's" -> "what")."""
    return [word.split("'", 1)[0] for word in words(text)]


def share(words: set[str] | frozenset[str], have: set[str] | frozenset[str]) -> float:
    """Share of `words` found in `have` (0 when there are no words)."""
    return len(words & have) / len(words) if words else 0.0


def stem_all(text: str) -> set[str]:
    """Every word of a text, stemmed, stopwords kept: where one "not" or "more" changes the meaning."""
    return set(_stemmer().stemWords(words(text.lower())))


class LexicalIndex:
    def __init__(self, bm25: bm25s.BM25, size: int) -> None:
        self._bm25 = bm25
        self.size = size

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        bm25 = bm25s.BM25()
        # An empty token list would make bm25s drop the row and shift every id after it.
        bm25.index([tokenize(t) or ["_"] for t in texts], show_progress=False)
        return cls(bm25, len(texts))

    def save(self, directory: Path) -> None:
        self._bm25.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path, size: int) -> LexicalIndex:
        # mmap: the score matrix stays in the page cache, shared by every worker process that loads it.
        return cls(bm25s.BM25.load(str(directory), mmap=True, show_progress=False), size)

    def knows(self, token: str) -> bool:
        """Whether a token (as tokenize() makes it) occurs anywhere in the collection."""
        return token in self._bm25.vocab_dict

    @cached_property
    def _parts(self) -> frozenset[str]:
        """The parts of the collection's hyphenated words, stemmed: "fals" and "keep" of "false-keep"."""
        return frozenset(_stemmer().stemWords([p for t in self._bm25.vocab_dict if "-" in t for p in t.split("-")]))

    def unknown_words(self, query: str) -> list[str]:
        """The query's content words the collection never uses, as typed ("Sophia"). A word is known when the
        collection uses it alone or inside a hyphenated word ("false" of "false-keep rate"); a hyphenated word is
        known when each of its parts is used alone ("min-max"; not "KS-2" beside "KS-1"); a clitic is dropped
        first ("what's" -> "what")."""
        out = []
        for word in typed_words(query):
            parts = word.split("-")
            alone = len(parts) > 1 and all(self._knows_word(part) for part in parts)
            if not self._knows_word(word, self._parts) and not alone:
                out.append(word)
        return out

    def _knows_word(self, word: str, parts: frozenset[str] = frozenset()) -> bool:
        tokens = tokenize(word)
        return not tokens or self.knows(tokens[0]) or tokens[0] in parts  # a stopword (no token): nothing to seek

    def coverage(self, query: str) -> float:
        """Share of the query's content words that occur anywhere in the collection."""
        tokens = tokenize(query)
        return sum(t in self._bm25.vocab_dict for t in tokens) / len(tokens) if tokens else 0.0

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every row for a query (zeros when no query word is known): for offline studies."""
        tokens = [t for t in tokenize(query) if t in self._bm25.vocab_dict]
        return self._bm25.get_scores(tokens) if tokens else np.zeros(self.size, dtype=np.float32)

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(row ids, scores) best first; rows with no matching term are left out."""
        tokens = [t for t in tokenize(query) if t in self._bm25.vocab_dict]
        if not tokens or self.size == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        ids, scores = self._bm25.retrieve([tokens], k=min(k, self.size), show_progress=False)
        keep = scores[0] > 0
        return ids[0][keep].astype(np.int64), scores[0][keep]
