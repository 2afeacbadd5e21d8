"""Follow-up questions without the LLM: decide whether a question leans on the conversation before it, and if so
search with it plus the previous question's key terms, giving the sections cited last turn a prior.

    plan = plan_search("what about its gamma?", [Turn("What is focal loss?", ("what-is-focal-loss",))], known)
    plan.search  -> "what about its gamma? focal loss"      plan.prior -> {"what-is-focal-loss": 0.15}

Pure functions over plain records; `known` says whether the collection knows a (stemmed) word, e.g.
`lambda w: index.lexical.coverage(w) > 0`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from corpus.errors import InvalidInputError
from index.lexical import STOPWORDS, tokenize, words
from rag.refusal import names

MAX_TURNS = 10  # history items a request may carry (most recent last)

# Words that point back at something said before ("… vinegar instead?": of what was just said). "that" is often
# a relative pronoun ("the loss that SVM uses"), but such a question names its topic: the limit on topic words
# keeps it standing alone.
_ANAPHOR = re.compile(
    r"\b(it|its|it's|itself|this|that|these|those|they|them|their|theirs|such|one|ones|same|former|latter|above|"
    r"instead)\b"
)
# Openings that continue the conversation: "what about …", "and …", "how about …", "what if …", "why?", "so …".
_CONTINUE = re.compile(
    r"^(and|also|so|but|then|what about|how about|what if|and what|why|why not|how so|any|ok|okay)\b"
)
# Words of a question's frame, not its topic: a follow-up made only of these names nothing new.
_FRAME = frozenset(
    tokenize(
        "compare compared comparison difference differ different advantages advantage disadvantages disadvantage "
        "drawbacks drawback benefits benefit pros cons example examples use used using mean means meaning work "
        "works working problem problems issue issues better worse best good bad important matter matters "
        "choose chosen choice set pick value values help helps needed need instead alternative alternatives "
        "else other more less example give show define definition called name named case cases happen happens "
        "usually typically common commonly really exactly actually also way ways kind type types main key "
        "affect affects effect effects fix solve avoid handle deal "
        # Asking for more of the last answer names no topic either ("can you elaborate?", "pseudocode?").
        "elaborate elaboration clarify clarification expand summarize summarise summary simplify simpler simply "
        "further detail details detailed continue go again tell say said write show code pseudocode snippet "
        "tldr tl dr eli5 thanks thank sure okay yes"
    )
)


# A follow-up that names another place or person of the kind the last question named ("and in Manchester?" after
# "What is the hotel limit in London?") asks the same of it, unless it compares the two.
_COMPARE = re.compile(r"\b(compare|compared|comparison|differ|difference|different|versus|vs|than|between|both)\b")


@dataclass(frozen=True)
class Turn:
    """An earlier turn: its question and the sections its answer cited."""

    question: str
    sections: tuple[str, ...] = ()


@dataclass(frozen=True)
class FollowupConfig:
    max_topic_words: int = 3  # a question referring back may name at most this many topic words of its own
    carry_terms: int = 6  # key words of the previous question added to the search
    prior: float = 0.15  # bonus of a section cited last turn, as a share of the top score


@dataclass
class SearchPlan:
    search: str  # what retrieval searches with
    prior: dict[str, float] = field(default_factory=dict)  # section id -> bonus (share of the top score)
    depends: bool = False  # the question leans on the history


def named_words(question: str) -> list[str]:
    """The question's content words (stemmed), less frame words and pronouns: what it names, known or not."""
    return [t for t in tokenize(question) if t not in _FRAME and not _ANAPHOR.fullmatch(t)]


def depends_on_history(question: str, known: Callable[[str], bool], config: FollowupConfig) -> bool:
    """Short and pointing back ("how does it compare to LSTMs?"), or naming nothing at all ("any drawbacks?").
    A question that names only things the collection does not know ("What is a zebra?") names its own topic: it
    is searched alone, so that it is refused as it would be first in a conversation, not answered with the last
    turn's sections."""
    named = named_words(question)
    if not named:
        return True
    q = question.lower().strip()
    refers = bool(_ANAPHOR.search(q) or _CONTINUE.match(q))
    return refers and sum(map(known, named)) <= config.max_topic_words


def key_terms(text: str, limit: int) -> list[str]:
    """The content words of a question as written (not stemmed: the embedder reads them too), first seen first."""
    out: list[str] = []
    seen: set[str] = set()
    for word in words(text):
        low = word.lower()
        stem = tokenize(low)
        if not stem or low in STOPWORDS or _ANAPHOR.fullmatch(low) or stem[0] in _FRAME or stem[0] in seen:
            continue
        seen.add(stem[0])
        out.append(word)
    return out[:limit]


def plan_search(
    question: str,
    history: Sequence[Turn],
    known: Callable[[str], bool],
    config: FollowupConfig | None = None,
) -> SearchPlan:
    """How to search for `question` after `history` (most recent last). Earlier turns are resolved in order, so a
    follow-up of a follow-up still carries the topic of the question that started it."""
    config = config or FollowupConfig()
    previous = ""  # what the previous turn searched with
    for turn in history:
        previous, _, _ = _expand(turn.question, previous, known, config)
    search, depends, renamed = _expand(question, previous, known, config)
    if not depends:
        return SearchPlan(question)
    # The sections cited for the old name answered about it, not about the new one: no head start.
    return SearchPlan(search, {} if renamed else {s: config.prior for s in history[-1].sections}, True)


def _expand(
    question: str, previous: str, known: Callable[[str], bool], config: FollowupConfig
) -> tuple[str, bool, bool]:
    """The question with the previous search's key terms, when it depends on it (else the question as it is), and
    whether it names a new place or person in place of the previous search's (whose names are then not carried)."""
    if not previous or not depends_on_history(question, known, config):
        return question, False, False
    old = proper_names(previous)
    renamed = bool(proper_names(question) - old) and not _COMPARE.search(question.lower())
    terms = [
        t
        for t in key_terms(previous, config.carry_terms)
        if t.lower() not in question.lower() and not (renamed and t.split("'", 1)[0] in old)
    ]
    return " ".join([question, *terms]), True, renamed


def proper_names(text: str) -> set[str]:
    """The names typed in title case (rag.refusal.names: past a sentence's first word), "London", "Spearman":
    places and people. Acronyms and coined names ("VRAM", "AdamW") are left out: a follow-up naming one adds to
    the topic."""
    return {word for word in names(text) if len(word) > 1 and word[1:].islower()}


def boost(ranking: list[tuple[int, float]], section_of: Callable[[int], str], prior: dict[str, float]) -> list:
    """A ranking (row, score; best first) with the prior's sections raised by their share of the top score."""
    if not prior or not ranking:
        return ranking
    top = abs(ranking[0][1]) or 1.0
    raised = [(row, score + prior.get(section_of(row), 0.0) * top) for row, score in ranking]
    return sorted(raised, key=lambda rs: (-rs[1], rs[0]))


def check_history(history: Sequence[Turn], clean: Callable[[str], str]) -> list[Turn]:
    """The turns with their questions cleaned (`clean` raises on a bad one); too many turns is an error too."""
    if len(history) > MAX_TURNS:
        raise InvalidInputError(f"history has {len(history)} turns; the limit is {MAX_TURNS}")
    out = []
    for i, turn in enumerate(history, start=1):
        try:
            out.append(Turn(clean(turn.question), tuple(turn.sections)))
        except InvalidInputError as exc:
            raise InvalidInputError(f"history turn {i}: {exc}") from None
    return out
