"""The LLM under a grammar: it can only choose evidence, never invent it.

- "select": the evidence sentences are numbered in the prompt and the grammar lets the model answer only with two
  to four of those numbers; the answer quotes the chosen sentences in the model's order.
- "copy": copy-constrained decoding. The grammar's only words are spans copied from the evidence (a whole sentence,
  or its opening clauses up to a comma, closed with a full stop), each followed by the marker of the source it was
  copied from; spans may be joined by a small set of connectives. The model writes, but only what it copies.
"""

from __future__ import annotations

import re

from rag.evidence import Sentence
from rag.generation import ChatModel

SELECT_SYSTEM = (
    "You choose, from numbered sentences, the ones that answer the question. Reply with the numbers of the two to "
    "four sentences that answer it best, most important first, separated by spaces."
)
COPY_SYSTEM = (
    "You answer questions using only the numbered sources given, copying their sentences. After each sentence "
    "put the number of its source in square brackets, like [1]."
)
CONNECTIVES = ("", "Also, ", "In addition, ")


def _literal(text: str) -> str:
    """A GBNF string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def select_messages(question: str, candidates: list[Sentence]) -> list[dict[str, str]]:
    listed = "\n".join(f"{i}. {s.text}" for i, s in enumerate(candidates, start=1))
    user = f"Question: {question}\n\nSentences:\n{listed}\n\nThe numbers of the sentences that answer the question:"
    return [{"role": "system", "content": SELECT_SYSTEM}, {"role": "user", "content": user}]


def select_grammar(n: int) -> str:
    numbers = " | ".join(_literal(str(i)) for i in range(n, 0, -1))  # longest first: "10" before "1"
    return f'root ::= num (" " num)? (" " num)? (" " num)?\nnum ::= {numbers}\n'


def select(llm: ChatModel, question: str, candidates: list[Sentence]) -> tuple[list[Sentence], str]:
    """The candidates the model picks, in its order (repeats dropped), and its raw reply."""
    raw = llm.constrained(select_messages(question, candidates), select_grammar(len(candidates)), 16)
    picked = dict.fromkeys(int(t) for t in raw.split() if t.isdigit() and 1 <= int(t) <= len(candidates))
    return [candidates[i - 1] for i in picked], raw


def spans(sentence: str) -> list[str]:
    """The sentence and its opening clauses (cut at a comma), each ending with a full stop."""
    out = [sentence]
    for m in re.finditer(r",\s", sentence):
        head = sentence[: m.start()]
        if len(head.split()) >= 5:
            out.append(head + ".")
    return out


def copy_grammar(sources: dict[int, list[str]]) -> str:
    """`sources`: source number -> its evidence sentences."""
    rules = ['root ::= item (" " item)? (" " item)?', "conn ::= " + " | ".join(_literal(c) for c in CONNECTIVES)]
    items = []
    for n, sentences in sources.items():
        alternatives = " | ".join(_literal(s) for sentence in sentences for s in dict.fromkeys(spans(sentence)))
        rules.append(f"src{n} ::= conn ({alternatives}) {_literal(f' [{n}]')}")
        items.append(f"src{n}")
    rules.insert(1, "item ::= " + " | ".join(items))
    return "\n".join(rules) + "\n"


def copy_messages(question: str, sources: dict[int, tuple[str, list[str]]]) -> list[dict[str, str]]:
    blocks = [f"[{n}] {heading}\n" + " ".join(sentences) for n, (heading, sentences) in sources.items()]
    user = "Sources:\n\n" + "\n\n".join(blocks) + f"\n\nQuestion: {question}\nAnswer with citations:"
    return [{"role": "system", "content": COPY_SYSTEM}, {"role": "user", "content": user}]
