"""Sentence splitting shared by the chunker, context selection and answer verification; text normalisation."""

from __future__ import annotations

import re

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\\\"'“\[])")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


def normalise(text: str) -> str:
    """Lower case, whitespace runs as one space: for comparing headings or facts however they were spaced."""
    return " ".join(text.lower().split())


def strip_bullet(line: str) -> str:
    return _BULLET.sub("", line).strip()


def split_sentences(text: str) -> list[str]:
    """Sentences of a text: each line (bullet markers removed) split at sentence ends; blanks dropped."""
    out: list[str] = []
    for line in text.split("\n"):
        line = strip_bullet(line)
        if line:
            out.extend(s.strip() for s in SENTENCE_END.split(line) if s.strip())
    return out


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of a text, as split_sentences() splits them, over the raw text.

    A span keeps what split_sentences() drops (a line's bullet marker), so text[start:end] is the sentence as
    written and a run of spans can be cut out of the text with its formatting intact.
    """
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        last = 0
        for cut in [*SENTENCE_END.finditer(line), None]:
            start, end = offset + last, offset + (cut.start() if cut else len(line))
            piece = text[start:end]
            if strip_bullet(piece):
                spans.append((start + len(piece) - len(piece.lstrip()), end - (len(piece) - len(piece.rstrip()))))
            if cut:
                last = cut.end()
        offset += len(line) + 1
    return spans


def ensure_text(s: str) -> str:
    """`s` unchanged when it is Unicode text; ValueError when it holds a lone surrogate.

    JSON (the escape \\ud800 alone) and undecodable bytes from argv can carry lone surrogates. They are not text:
    neither the tokenizer nor a UTF-8 encoder (a response, a log) takes them."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains a lone surrogate escape (not valid Unicode text)") from None
    return s


def counted(n: int, noun: str) -> str:
    """A count in words: "1 section", "3 sections" (a regular plural)."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
