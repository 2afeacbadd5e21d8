"""Which sentences may be quoted: a complete statement, not a caption, a pointer elsewhere, a list intro, a
sub-heading, code or a formula (a section with nothing else may quote its fragments that say something); and
which lean on the sentence before them. Pure functions over text, used by evidence selection (rag/evidence.py).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from corpus.text import is_field

_FIGURE = re.compile(
    r"\b(?:image|figure|fig\.|diagram|table|illustration|screenshot|chart|graph|plot|picture|video)s?\s+"
    r"(?:below|above)|\b(?:below|above)\s+(?:image|figure|diagram|table|shows|illustrates)|"
    r"\bcf\.\s+figure|^(?:image|figure|source|credit|photo)s?\s*(?:\d+\s*)?[:(]|\bshown\s+(?:below|above)|"
    # "the following" points at what follows, but "by 31 March of the following year" is a date
    r"\bas\s+follows\b|\bthe following\b(?!\s+(?:year|month|week|day|morning|evening|night|quarter|term|season))",
    re.IGNORECASE,
)
# Points the reader elsewhere: to a list that follows, to a walk-through ("Let's look at …"), or to a link or
# article ("… offers a great overview of this topic", "refer Wikipedia"). Quoted alone it answers nothing.
_ELSEWHERE = re.compile(
    r"\b(?:mentioned|listed|described|discussed|outlined)\s+below\b|"
    r"^(?:let(?:'s|’s|\s+us)\s+(?:understand|look|examine|see|consider|dive|explore|break)\b|"
    r"here(?:'s|’s|\s+is)\s+(?:a|the)\s+(?:breakdown|summary|rundown)\b)|"
    r"\boverview\s+of\s+this\s+topic\b|\bcan\s+be\s+consulted\b|"
    r"^(?:for\s+(?:more|details),?\s+)?(?:refer|see|read)\s+(?:to\s+)?(?:wikipedia|blog|the\s+(?:paper|article|blog))\b|"
    r"^(?:see|refer\s+to)\s",  # a pointer to another note or page: "See [[contrastive-learning]] for another loss …"
    re.IGNORECASE,
)
# Back matter lists sources and links (a note's "Related" wikilinks); a fragment of it ("ML Interview Questions",
# "Alpha Launch Plan") answers nothing.
_BACK_MATTER = re.compile(
    r"(?:references|citations?|bibliography|further reading|acknowledge?ments?|see also|resources|links|"
    r"related(?: notes| pages| links)?|backlinks)\W*$",
    re.IGNORECASE,
)
_FIELD = re.compile(r"^\s*[@\w]+\s*=\s*\{|[{}],?\s*$")  # a BibTeX line: "title = {…}," or "@article{key,"
_CODE = re.compile(r"^(?:from |import |def |class |print\(|>>>|return |for .* in .*:|#include)|[{};]\s*$")
# C:\Program Files\App\app.yaml, \\server\share, %APPDATA%\app, ..\logs\app.log: a folder's name may hold spaces
# (a network path's \\ must lead to a folder, "\\server\", where LaTeX's row break "\\ " leads nowhere)
_WINDOWS_PATH = re.compile(
    r"(?:\b[A-Za-z]:|%\w+%|(?<![\w.])\.{1,2}|\\(?=\\[\w.$-]+\\))\\(?:[^\\\s]+(?: [^\\\s]+)*\\)*[^\\\s]*"
)
# Inline math, "\(…\)" or "$…$" with no space inside its ends: judged as one symbol, so that a prose sentence that
# names a variable or gives a formula ("computed using the formula: \(-\sum_{i} p_i \log p_i\), where \(p_i\) is
# the probability of each state") may be quoted; a line that is mostly formula still may not. Prices do not match
# ("$5 to $10": a space before the second "$").
_INLINE_MATH = re.compile(r"\\\(.*?\\\)|(?<![\w$])\$(?=[^\s$])[^$\n]*?(?<=\S)\$(?![\w$])")
LONG_MATH = 60  # characters of one inline expression; "\(-\sum_{i} p_i \log p_i\)" has 25, focal loss's 78
_ASSIGNMENT = re.compile(r"\s*[\w.\[\]]+\s*=")  # "x = …", "self.rate = …" open a line of code or maths
_KEYWORD_ARGUMENT = re.compile(r"\w=\w")  # "max_length=50": a call's arguments
# A sentence opening with one of these leans on the sentence before it.
_ANAPHOR = re.compile(
    r"^(?:this|these|that|those|it|its|they|their|such|however|therefore|thus|hence|so|also|additionally|"
    r"moreover|furthermore|instead|in other words|as a result|in contrast|similarly|likewise|here|then)\b",
    re.IGNORECASE,
)


def standalone(sentence: str) -> bool:
    """Whether a sentence can be quoted on its own: a complete statement, not a caption, list intro or code."""
    plain = _INLINE_MATH.sub("x", sentence)  # an expression is one symbol, however it is spaced
    words = plain.split()
    if len(words) < 5 or sentence.endswith((":", "?")):
        return False
    if _figure_or_code(sentence) or _computation(plain):
        return False
    if _formula(sentence):
        return False
    return sentence[-1] in ".!)\"”'" or (len(words) >= 10 and not _titled(words))


def _formula(sentence: str) -> bool:
    """Formulas and LaTeX: few letters, or backslashes (a Windows path's are not LaTeX); inline math counts as one
    symbol."""
    if any(len(m) > LONG_MATH for m in _INLINE_MATH.findall(sentence)):
        return True  # a long expression is unreadable as LaTeX source
    sentence = _INLINE_MATH.sub("x", sentence)
    letters = sum(ch.isalpha() for ch in sentence)
    return letters < 0.6 * len(sentence.replace(" ", "")) or _WINDOWS_PATH.sub("", sentence).count("\\") > 2


def _computation(plain: str) -> bool:
    """Several "=" in code or a derivation ("result = generator(prompt, max_length=50)", "b = a XOR b = a"), not
    in prose that gives settings ("BatchNorm2d uses eps = 1e-5 and momentum = 0.1 by default"). `plain`: the
    sentence with each inline expression as one symbol."""
    return plain.count("=") > 1 and bool(_ASSIGNMENT.match(plain) or _KEYWORD_ARGUMENT.search(plain))


def _titled(words: list[str]) -> bool:
    """A long line in title case without a full stop is a sub-heading ("Novelty and Advantages of RLHF Compared
    to Uncurated Text Corpora"), not a statement."""
    long = [w for w in words if len(w) >= 4 and w[0].isalpha()]
    listing = any(w.endswith(",") for w in words)  # "… is Alice Brown, Carol Smith, …" lists names
    return not listing and len(long) >= 3 and sum(w[0].isupper() for w in long) >= 0.8 * len(long)


def fragment(sentence: str, words: frozenset[str]) -> bool:
    """Whether a sentence that is not standalone may still be quoted when its section has nothing better (tune:
    relevant citation 0.935 -> 0.947, e.g. the section on standardization vs normalization is two formula lines):
    it says something (two words, not a formula's symbols), is neither a question nor a BibTeX field, and neither
    points at a figure nor is code. A list intro may stay: in such a section it often carries the content ("–>
    elements in a set(list)- As an simple example:" is the SQL section's whole definition of IN; tune fact recall
    0.713 without it, 0.716 with)."""
    said = [w for w in words if len(w) > 2 and w.isalpha()]
    if len(said) < 2 or sentence.rstrip().endswith("?") or _FIELD.search(sentence):
        return False
    return not _figure_or_code(sentence)


def _item(item: str, words: frozenset[str]) -> bool:
    """A list item or field line that says something on its own line (three words or more, as a fragment may): a
    slide's bullet "Worth 8% of the final grade", a recipe's "500 g strong white bread flour", a note's "Attendees:
    Priya Raman, Hana Sato, me". Judged item by item, where
    a fragment is quoted only when its section has no standalone sentence at all."""
    said = item.split()
    value = item.split(":", 1)[1].split() if is_field(item) else said  # a field's label is title case by nature
    if len(said) < 3 or item.rstrip().endswith((":", "?")) or _titled(value) or _formula(item):
        return False  # a list intro, a sub-heading, a formula
    return fragment(item, words)


def _figure_or_code(sentence: str) -> bool:
    """Points at a figure that is not there or elsewhere, or is code: never quoted, standalone or fragment."""
    return bool(_FIGURE.search(sentence) or _ELSEWHERE.search(sentence) or _CODE.search(sentence))


def leans_back(sentence: str) -> bool:
    return bool(_ANAPHOR.match(sentence))


def quotable(
    heading: str,
    texts: list[str],
    words: list[frozenset[str]],
    code: Collection[str] = (),
    items: Collection[str] = (),
) -> list[bool]:
    """Whether each of a section's sentences may be quoted: the standalone ones and its list `items` that say
    something (corpus.text.list_items); when there are none, its fragments that say something (a section of only
    formulas or list fragments still answers its heading), but never those of back matter, nor the lines of its
    fenced code (`code`: corpus.text.fenced_sentences)."""
    back_matter = bool(_BACK_MATTER.match(heading.strip()))
    flags = [
        (standalone(t) or (not back_matter and t in items and _item(t, w))) and t not in code
        for t, w in zip(texts, words, strict=True)
    ]
    if not any(flags) and not back_matter:
        flags = [fragment(t, w) and t not in code for t, w in zip(texts, words, strict=True)]
    return flags
