"""Document expansion (doc2query) for the retrieval ablation: the bundled LLM writes questions each passage answers.

    python -m eval.doc2query [--out eval/data/doc2query.jsonl]     # then: python -m eval.fusion_study

A question is kept only when it retrieves its own section (the round-trip filter). The questions are cached by
a hash of the passage's indexed text in a JSON Lines file, one passage per line ({"hash", "questions",
"dropped"}), appended and flushed as they come: an interrupted run resumes where it stopped, and a rebuilt
index only asks the LLM about passages it has not seen. `eval.fusion_study` reads the file and scores hybrid
search with the questions as extra words and as extra vectors of their passage (eval/results/retrieval/).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from corpus.model import Passage
from rag.config import Settings
from rag.generation.base import ChatModel

QUESTIONS_FILE = Path(__file__).resolve().parent / "data" / "doc2query.jsonl"
QUESTIONS_PER_PASSAGE = 3
PASSAGE_CHARS = 900  # about 220 tokens: the passage's opening carries its topic, and the prompt stays short
MAX_NEW_TOKENS = 90
KEEP_TOP = 3  # the round trip: a question is kept when its section is among the first this many sections found
_NUMBERING = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s*")


def passage_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


class QuestionCache:
    """passage hash -> its kept questions, backed by an append-only JSON Lines file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._questions: dict[str, list[str]] = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    self._questions[row["hash"]] = row["questions"]

    def __contains__(self, key: str) -> bool:
        return key in self._questions

    def __len__(self) -> int:
        return len(self._questions)

    def get(self, key: str) -> list[str]:
        return self._questions.get(key, [])

    def put(self, key: str, questions: list[str], dropped: int = 0) -> None:
        self._questions[key] = questions
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"hash": key, "questions": questions, "dropped": dropped}, ensure_ascii=False) + "\n")


def prompt(heading: str, text: str) -> list[dict[str, str]]:
    user = (
        f"Topic: {heading}\nPassage:\n{text[:PASSAGE_CHARS]}\n\n"
        f"Write {QUESTIONS_PER_PASSAGE} different questions a student could ask that this passage answers, "
        "one per line."
    )
    return [
        {"role": "system", "content": "You write short questions that a passage answers."},
        {"role": "user", "content": user},
    ]


def parse_questions(output: str) -> list[str]:
    """The model's lines that are questions of 4-25 words, numbering stripped, without repeats."""
    found: list[str] = []
    for line in output.splitlines():
        question = _NUMBERING.sub("", line).strip()
        if question.endswith("?") and 4 <= len(question.split()) <= 25 and question not in found:
            found.append(question)
    return found[:QUESTIONS_PER_PASSAGE]


def expand(
    passages: Iterable[Passage],
    model: ChatModel,
    finds: Callable[[str], list[str]],
    cache: QuestionCache,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Fill `cache` for the passages it lacks; returns how many passages the LLM was asked about. `finds`: a
    question -> the section ids retrieval ranks first, without the expansion."""
    asked = 0
    for passage in passages:
        key = passage_hash(passage.indexed_text)
        if key in cache:
            continue
        # Greedy decoding: the same passage always gets the same questions.
        out = model.generate(prompt(passage.heading, passage.text), max_new_tokens=MAX_NEW_TOKENS)
        written = parse_questions(out)
        kept = [q for q in written if passage.section_id in finds(q)[:KEEP_TOP]]
        cache.put(key, kept, dropped=len(written) - len(kept))
        asked += 1
        if progress is not None:
            progress(asked)
    return asked


def main() -> None:
    from rag.generation.registry import load_chat_model
    from rag.retrieve import Retriever

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=QUESTIONS_FILE)
    args = ap.parse_args()
    settings = Settings.from_env()
    retriever = Retriever(settings)
    retriever.warm_up()
    model = load_chat_model(settings)
    passages = retriever.index.passages
    started = time.perf_counter()

    def progress(n: int) -> None:
        if n % 25 == 0:
            print(f"{n} passages asked, {time.perf_counter() - started:.0f} s", flush=True)

    def finds(question: str) -> list[str]:
        return [h.section_id for h in retriever.search(question, k=KEEP_TOP, mode="hybrid").hits]

    asked = expand(passages, model, finds, QuestionCache(args.out), progress)
    print(f"asked the LLM about {asked} of {len(passages)} passages in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
