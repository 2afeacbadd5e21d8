"""Follow-up questions: hit@1 of a conversation's second turn, searched alone and with the first turn as history.

The first turn is answered for real (extractively: no LLM) and its history item is what a client would send back:
the question and the sections its answer cited. Conversations are JSONL (eval/data/followups.jsonl):
{"first", "first_relevant", "second", "second_relevant", "kind": followup | topic_change, "split": tune | test};
relevant sections are ids or exact headings, as in the dev set.

    python -m eval.followups [--split test] [--out eval/results]   # the report (askdoc eval --followups too)
    python -m eval.followups --tune                               # the grid on the tune split
"""

from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from corpus.errors import InvalidInputError
from eval.dataset import EvalQuestion, jsonl_lines, resolve
from eval.metrics import HitAtK, MRRAtK
from index.collection import Notify, quiet
from rag.config import Settings
from rag.followup import FollowupConfig, Turn
from rag.pipeline import AskDoc

DEFAULT_FOLLOWUPS = Path(__file__).resolve().parent / "data" / "followups.jsonl"
KINDS = ("followup", "topic_change")


@dataclass
class Conversation:
    first: EvalQuestion
    second: EvalQuestion
    kind: str
    split: str
    turn: Turn = field(default_factory=lambda: Turn(""))  # the first turn as history: filled by answering it


def load_conversations(path: Path = DEFAULT_FOLLOWUPS) -> list[Conversation]:
    out = []
    for n, line in jsonl_lines(path, "conversation"):
        try:
            row = json.loads(line)
            kind, split = str(row["kind"]), str(row["split"])
            first = EvalQuestion(str(row["first"]), list(row["first_relevant"]), kind=kind, split=split)
            second = EvalQuestion(str(row["second"]), list(row["second_relevant"]), kind=kind, split=split)
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInputError(f"{path}:{n}: not a conversation ({exc})") from None
        if kind not in KINDS:
            raise InvalidInputError(f"{path}:{n}: kind must be one of {', '.join(KINDS)}")
        out.append(Conversation(first, second, kind, split))
    return out


def check(conversations: list[Conversation], sections: dict[str, Any]) -> list[str]:
    """Unknown sections; a first turn that repeats; splits other than tune/test."""
    problems = resolve([q for c in conversations for q in (c.first, c.second)], sections)
    problems += [f"{c.second.question!r}: split {c.split!r}" for c in conversations if c.split not in ("tune", "test")]
    pairs = [(c.first.question, c.second.question) for c in conversations]
    problems += [f"duplicate conversation {p}" for p in {p for p in pairs if pairs.count(p) > 1}]
    return problems


def answer_first_turns(askdoc: AskDoc, conversations: list[Conversation]) -> None:
    """Each first turn answered for real; its history item carries the sections that answer cited."""
    for c in conversations:
        answer = askdoc.ask(c.first.question, extractive=True).to_json()
        cited = tuple(dict.fromkeys(x["section_id"] for x in answer["citations"]))
        c.turn = Turn(c.first.question, cited)


def second_turn_rows(
    askdoc: AskDoc, conversations: list[Conversation], alone_cache: dict[str, list[str]] | None = None
) -> list[dict[str, Any]]:
    """Per conversation: the second turn's hit@1 and MRR@10 alone and with history, and what was searched
    (`alone_cache`: the searches without history, kept across calls by the grid)."""
    hit1, mrr = HitAtK(1), MRRAtK(10)
    alone_cache = {} if alone_cache is None else alone_cache
    rows = []
    for c in conversations:
        if c.second.question not in alone_cache:
            alone_cache[c.second.question] = [h.section_id for h in askdoc.search(c.second.question, k=10).hits]
        alone = alone_cache[c.second.question]
        result = askdoc.search(c.second.question, k=10, history=[c.turn])
        with_history = [h.section_id for h in result.hits]
        rows.append(
            {
                "kind": c.kind,
                "split": c.split,
                "question": c.second.question,
                "after": c.first.question,
                "search": result.search_question or c.second.question,
                "hit@1_alone": hit1.compute(alone, c.second.expected),
                "hit@1_history": hit1.compute(with_history, c.second.expected),
                "mrr@10_alone": mrr.compute(alone, c.second.expected),
                "mrr@10_history": mrr.compute(with_history, c.second.expected),
                "first_turn_hit@1": float(bool(c.turn.sections) and c.turn.sections[0] in c.first.expected),
            }
        )
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Means per (split, kind) group and per split overall."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        for name in (r["split"], f"{r['split']}/{r['kind']}"):
            groups.setdefault(name, []).append(r)
    metrics = ["hit@1_alone", "hit@1_history", "mrr@10_alone", "mrr@10_history", "first_turn_hit@1"]
    return {
        name: {"n": float(len(rs))} | {m: sum(r[m] for r in rs) / len(rs) for m in metrics}
        for name, rs in sorted(groups.items())
    }


def run_followups(
    settings: Settings, path: Path = DEFAULT_FOLLOWUPS, split: str = "all", notify: Notify = quiet
) -> dict[str, Any]:
    askdoc = AskDoc(settings, notify=notify, progress=False)
    askdoc.warm_up(llm=False)
    conversations = [c for c in load_conversations(path) if split in ("all", c.split)]
    problems = check(conversations, askdoc.retriever.index.sections)
    if problems or not conversations:
        raise InvalidInputError(f"{path}: {len(problems)} problem(s), e.g. " + "; ".join(problems[:3] or ["empty"]))
    answer_first_turns(askdoc, conversations)
    rows = second_turn_rows(askdoc, conversations)
    return {"conversations": path.name, "config": asdict(askdoc.followup), "summary": summary(rows), "rows": rows}


def to_markdown(report: dict[str, Any]) -> str:
    cols = ["n", "hit@1_alone", "hit@1_history", "mrr@10_alone", "mrr@10_history", "first_turn_hit@1"]
    lines = [
        "# Follow-up questions: the second turn searched alone and with history",
        "",
        f"Conversations: `eval/data/{report['conversations']}`; settings: `{json.dumps(report['config'])}`.",
        "The first turn is answered extractively; its history item is the question and the sections its answer",
        "cited. `topic_change` turns must not be dragged back to the first turn's section.",
        "",
        "| group | " + " | ".join(cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    for name, vals in report["summary"].items():
        lines.append(f"| {name} | " + " | ".join(_fmt(vals[c], c) for c in cols) + " |")
    missed = [r for r in report["rows"] if r["hit@1_history"] < 1]
    if missed:
        lines += ["", "Second turns missed with history (question ← first turn → what was searched):", ""]
        lines += [f"- [{r['split']}, {r['kind']}] {r['question']} ← {r['after']} → `{r['search']}`" for r in missed]
    return "\n".join(lines) + "\n"


def _fmt(v: float, column: str) -> str:
    return str(int(v)) if column == "n" else f"{v:.3f}"


def write(report: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "followups.json", out / "followups.md"]
    paths[0].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths[1].write_text(to_markdown(report), encoding="utf-8")
    return paths


GRID = {"max_topic_words": (2, 3, 4), "carry_terms": (6,), "prior": (0.0, 0.1, 0.15, 0.25)}


def tune(settings: Settings, path: Path = DEFAULT_FOLLOWUPS) -> list[tuple[dict[str, float], FollowupConfig]]:
    """Every grid point on the tune split, best first: follow-up hit@1 with history, then topic-change hit@1."""
    askdoc = AskDoc(settings, progress=False)
    askdoc.warm_up(llm=False)
    conversations = [c for c in load_conversations(path) if c.split == "tune"]
    check(conversations, askdoc.retriever.index.sections)  # fills each question's expected sections
    answer_first_turns(askdoc, conversations)
    results, cache = [], {}
    for values in itertools.product(*GRID.values()):
        askdoc.followup = FollowupConfig(**dict(zip(GRID, values, strict=True)))
        s = summary(second_turn_rows(askdoc, conversations, cache))
        scores = {
            "followup": s["tune/followup"]["hit@1_history"],
            "topic_change": s["tune/topic_change"]["hit@1_history"],
            "mrr": s["tune"]["mrr@10_history"],
        }
        results.append((scores, askdoc.followup))
    return sorted(results, key=lambda r: (-r[0]["followup"], -r[0]["topic_change"], -r[0]["mrr"]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--split", default="all", choices=("all", "tune", "test"))
    p.add_argument("--out", type=Path, default=Path("eval/results"))
    p.add_argument("--tune", action="store_true", help="print the grid on the tune split instead")
    args = p.parse_args()
    if args.tune:
        for scores, config in tune(Settings.from_env())[:15]:
            print(json.dumps(scores), asdict(config))
        return
    report = run_followups(Settings.from_env(), split=args.split)
    print(to_markdown(report))
    print("wrote", ", ".join(str(x) for x in write(report, args.out)))


if __name__ == "__main__":
    main()
