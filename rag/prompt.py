"""The one place the answer prompt lives."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class PromptSource(Protocol):
    n: int
    heading: str
    sentences: list[str]


SYSTEM = (
    "You answer questions using only the numbered sources given. "
    "Write two or three short sentences. After each sentence put the number of the source it comes from "
    "in square brackets, like [1]. If the sources do not answer the question, say so."
)


def build_messages(question: str, sources: Sequence[PromptSource]) -> list[dict[str, str]]:
    blocks = [f"[{s.n}] {s.heading}\n" + " ".join(s.sentences) for s in sources]
    user = "Sources:\n\n" + "\n\n".join(blocks) + f"\n\nQuestion: {question}\nAnswer with citations:"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
