"""`askdoc eval`: parse the flags and hand them to the eval harness."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.common import bounded, notify, settings_from
from rag.config import ANSWER_STYLES


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("eval", parents=[common], help="measure retrieval (and answers) on a question set")
    p.add_argument(
        "--queries",
        type=Path,
        help='JSONL question file, one {"question", "relevant": [section ids or exact headings], optional '
        '"answerable", "facts", "kind", "split"} per line (default: the bundled dev set, about the default guide)',
    )
    p.add_argument(
        "--modes", default="bm25,dense,hybrid", help="comma-separated modes to compare (default bm25,dense,hybrid)"
    )
    p.add_argument(
        "--split", default="all", choices=("all", "tune", "test"), help="which part of the set (default all)"
    )
    # 10: eval.runner.DEPTH, the sections each search returns (not imported: the CLI starts without tqdm).
    p.add_argument("--k", type=bounded(1, 10), default=5, help="k of hit@k and recall@k, 1-10 (default 5)")
    p.add_argument("--answers", action="store_true", help="also answer every question and score the answers")
    p.add_argument(
        "--styles",
        default="extractive,generate",
        help=f"answer styles to compare with --answers, comma-separated, of {', '.join(ANSWER_STYLES)} (default "
        "extractive,generate; generate loads the LLM)",
    )
    p.add_argument(
        "--followups",
        action="store_true",
        help="measure follow-up questions instead: second-turn hit@1 alone and with history "
        "(eval/data/followups.jsonl, or --queries)",
    )
    p.add_argument("--out", type=Path, default=Path("eval-report"), help="report directory (default eval-report)")
    p.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    if args.followups:
        return _followups(args)
    from eval.dataset import DEFAULT_QUERIES
    from eval.harness import EvalOptions, run_eval
    from eval.report import to_markdown

    options = EvalOptions(
        modes=[m.strip() for m in args.modes.split(",") if m.strip()],
        queries=args.queries or DEFAULT_QUERIES,
        split=args.split,
        k=args.k,
        answers=args.answers,
        styles=[s.strip() for s in args.styles.split(",") if s.strip()],
        out=args.out,
    )
    report, paths = run_eval(settings_from(args), options, notify)
    print(to_markdown(report))
    notify("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _followups(args: argparse.Namespace) -> int:
    from eval.followups import DEFAULT_FOLLOWUPS, run_followups, to_markdown, write
    from eval.report import writable_folder

    writable_folder(args.out)
    report = run_followups(settings_from(args), args.queries or DEFAULT_FOLLOWUPS, args.split, notify)
    print(to_markdown(report))
    notify("wrote " + ", ".join(str(p) for p in write(report, args.out)))
    return 0
