"""The `askdoc` command line. User mistakes end with a one-line message and exit code 2, never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from corpus.errors import AskdocError, InvalidInputError
from rag.config import MODES, Settings


def _notify(message: str) -> None:
    print(f"askdoc: {message}", file=sys.stderr, flush=True)


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    return Settings.from_env(
        index_dir=getattr(args, "index_dir", None),
        device=getattr(args, "device", None),
        **extra,
    )


def _questions(arg: str) -> Iterator[str] | None:
    """`-` means one question per line on stdin (batch mode); otherwise None."""
    if arg != "-":
        return None
    return (line.rstrip("\n") for line in sys.stdin)


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _retriever(settings: Settings, progress: bool = True):  # type: ignore[no-untyped-def]
    from rag.retrieve import Retriever

    retriever = Retriever(settings, notify=_notify, progress=progress)
    retriever.warm_up()
    return retriever


# ---- search -------------------------------------------------------------------------------------------------
def cmd_search(args: argparse.Namespace) -> int:
    settings = _settings(args, k=args.k, mode=args.mode)
    retriever = _retriever(settings)
    batch = _questions(args.question)
    if batch is not None:
        for question in batch:
            try:
                _emit(retriever.search(question).to_json())
            except AskdocError as exc:  # one bad line must not stop the batch or shift its output
                _emit({"query": question, "mode": settings.mode, "results": [], "error": str(exc)})
        return 0
    result = retriever.search(args.question)
    if args.json:
        _emit(result.to_json())
        return 0
    if not result.hits:
        print("No matching sections.")
    for hit in result.hits:
        print(f"{hit.rank}. {hit.heading}")
        print(f"   [{hit.section_id} · {hit.category or '-'} · score {hit.score:.4f}]")
        print(f"   {_shorten(hit.snippet, 240)}")
    return 0


def _shorten(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1].rsplit(" ", 1)[0] + " …"


# ---- ask ----------------------------------------------------------------------------------------------------
def cmd_ask(args: argparse.Namespace) -> int:
    from rag.pipeline import AskDoc, FinalEvent

    settings = _settings(args, k=args.k, mode=args.mode, llm_backend=args.backend, llm_model=args.model)
    askdoc = AskDoc(settings, notify=_notify)
    askdoc.warm_up(llm=not args.extractive)
    batch = _questions(args.question)
    if batch is not None:
        for question in batch:
            try:
                _emit(askdoc.ask(question, extractive=args.extractive).to_json())
            except AskdocError as exc:
                _emit(
                    {
                        "question": question,
                        "answer": "",
                        "citations": [],
                        "sentences": [],
                        "refused": False,
                        "timings": {},
                        "error": str(exc),
                    }
                )
        return 0
    if args.json:
        _emit(askdoc.ask(args.question, extractive=args.extractive).to_json())
        return 0
    stream = sys.stdout.isatty() if args.stream is None else args.stream
    streamed = ""
    answer = None
    for event in askdoc.ask_stream(args.question, extractive=args.extractive):
        if isinstance(event, FinalEvent):
            answer = event.answer
        elif stream:
            streamed += event.text
            print(event.text, end="", flush=True)
    assert answer is not None
    if streamed and streamed.strip() != answer.answer:
        # What streamed was the model's draft; say plainly what verification kept.
        print("\n\nVerified answer:" if answer.mode == "generated" else "\n\nNot supported by the sources; instead:")
    if not streamed or streamed.strip() != answer.answer:
        print(answer.answer)
    else:
        print()
    if answer.notice:
        _notify(answer.notice)
    if answer.refused:
        print("\nNearest sections:")
        for hit in answer.nearest:
            print(f"  - {hit['heading']}  [{hit['section_id']}]")
        return 0
    cited = {n for sent in answer.sentences for n in sent.sources}
    print("\nSources:")
    for src in answer.sources:
        if src.n in cited:
            print(f"  [{src.n}] {src.heading}  [{src.section_id}]")
    return 0


# ---- index --------------------------------------------------------------------------------------------------
def cmd_index_build(args: argparse.Namespace) -> int:
    from index.embed import Embedder
    from index.store import load
    from rag.indexing import build, open_index

    settings = _settings(args, faiss_kind=args.faiss)
    embedder = Embedder(settings.embed_model, settings.device)
    embedder.warm_up()
    if args.rebuild:
        previous = None
        if (settings.index_dir / "manifest.json").exists():
            try:  # keep the user's added documents across a rebuild when the old index is readable
                previous = load(settings.index_dir)
            except AskdocError as exc:
                _notify(f"previous index unreadable ({exc}); rebuilding the default corpus only")
        index = build(settings, embedder, _notify, progress=True, previous=previous)
    else:
        index = open_index(settings, embedder, _notify, progress=True)
        _notify(f"index at {settings.index_dir} is up to date")
    # Training takes minutes on a CPU, so a build spends them only when mode rerank will use the model (or asked).
    if (args.reranker or settings.mode == "rerank") and not args.no_reranker:
        if settings.reranker_model:
            _notify(f"using the reranker at {settings.reranker_model} (reranker_model): not training one")
        else:
            _train_reranker(settings, embedder, index)
    _print_info(index.manifest.to_dict(), settings)
    return 0


def _train_reranker(settings: Settings, embedder: Any, index: Any = None, **config: Any) -> None:
    from rag.retrieve import Retriever
    from rag.train_reranker import TrainConfig, train_reranker

    retriever = Retriever(settings, notify=_notify)
    retriever.embedder = embedder
    if index is not None:
        retriever._index = index
    retriever.warm_up()
    out = train_reranker(retriever, TrainConfig(**{k: v for k, v in config.items() if v is not None}), _notify)
    _notify(f"reranker: {out}")


def cmd_reranker_train(args: argparse.Namespace) -> int:
    from index.embed import Embedder

    settings = _settings(args)
    embedder = Embedder(settings.embed_model, settings.device)
    embedder.warm_up()
    _train_reranker(settings, embedder, steps=args.steps, epochs=args.epochs, seed=args.seed)
    return 0


def cmd_index_add(args: argparse.Namespace) -> int:
    from index.embed import Embedder
    from rag.indexing import add_documents

    settings = _settings(args)
    embedder = Embedder(settings.embed_model, settings.device)
    embedder.warm_up()
    index = add_documents(settings, embedder, [Path(p) for p in args.paths], _notify)
    _print_info(index.manifest.to_dict(), settings)
    return 0


def cmd_index_info(args: argparse.Namespace) -> int:
    from index.store import read_manifest

    settings = _settings(args)
    manifest = read_manifest(settings.index_dir).to_dict()
    if args.json:
        _emit({"index_dir": str(settings.index_dir), **manifest, "reranker": _reranker_status(settings, manifest)})
    else:
        _print_info(manifest, settings)
    return 0


def _print_info(manifest: dict[str, Any], settings: Settings) -> None:
    counts = manifest["counts"]
    print(f"index:     {settings.index_dir}")
    print(f"built:     {manifest['created_at']}")
    print(f"embedder:  {manifest['embed_model']} (dim {manifest['embed_dim']}, FAISS {manifest['faiss_kind']})")
    print(f"chunker:   {manifest['chunker']}")
    print(f"contents:  {counts['documents']} documents, {counts['sections']} sections, {counts['passages']} passages")
    for doc in manifest["documents"]:
        tag = " (default corpus)" if doc["default"] else ""
        print(f"  - {doc['name']}: {doc['sections']} sections{tag}  [{doc['path']}]")
    status = _reranker_status(settings, manifest)
    detail = {
        "missing": "not trained: run `askdoc reranker train`",
        "stale": "trained for another collection: run `askdoc reranker train`",
        "configured": "set by reranker_model",
    }.get(status["state"], f"trained {status.get('created_at', '?')} in {status.get('train_seconds', '?')} s")
    print(f"reranker:  {status['path']} ({detail})")


def _reranker_status(settings: Settings, manifest: dict[str, Any]) -> dict[str, Any]:
    from rag.rerank import reranker_status

    return reranker_status(settings, manifest["corpus_hash"])


# ---- serve --------------------------------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    settings = _settings(args)  # validates ASKDOC_* before any worker starts
    # Workers are separate processes that build their settings from the environment: pass the flags on there.
    if args.index_dir:
        os.environ["ASKDOC_INDEX_DIR"] = str(args.index_dir)
    if args.device:
        os.environ["ASKDOC_DEVICE"] = args.device
    logging.basicConfig(level=logging.DEBUG if settings.debug else logging.INFO, format="%(message)s")
    if args.host not in ("127.0.0.1", "localhost", "::1") and not settings.api_key:
        _notify(f"serving on {args.host} without an API key (set ASKDOC_API_KEY to require one)")
    uvicorn.run("api.app:create_app", factory=True, host=args.host, port=args.port, workers=args.workers)
    return 0


# ---- eval ---------------------------------------------------------------------------------------------------
def cmd_eval(args: argparse.Namespace) -> int:
    # The CLI is the composition root: it may drive the eval harness, which itself sits on top of rag.
    from eval.dataset import DEFAULT_QUERIES, load_questions, resolve
    from eval.report import build_report, to_markdown, write_report
    from eval.runner import run_retrieval

    settings = _settings(args)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise InvalidInputError(f"unknown mode(s) {unknown}; choose from {', '.join(MODES)}")
    path = args.queries or DEFAULT_QUERIES
    questions = load_questions(path)
    if args.split != "all":
        questions = [q for q in questions if q.split == args.split]
        if not questions:
            raise InvalidInputError(f"{path}: no questions in split {args.split!r}")
    retriever = _retriever(settings)
    problems = resolve(questions, retriever.index.sections)
    if problems:
        raise InvalidInputError(f"{path}: {len(problems)} problem(s), e.g. " + "; ".join(problems[:3]))
    reports = run_retrieval(retriever, questions, modes, k=args.k)
    answers = []
    if args.answers:
        from eval.runner import run_answers
        from rag.pipeline import AskDoc

        askdoc = AskDoc(settings, notify=_notify)
        askdoc.retriever = retriever  # reuse the loaded embedder and index
        askdoc.warm_up()
        answers.append(run_answers(lambda q: askdoc.ask(q).to_json(), questions, "llm+verify"))
        answers.append(run_answers(lambda q: askdoc.ask(q, extractive=True).to_json(), questions, "extractive"))
    meta = {
        "queries": str(path),
        "split": args.split,
        "n_questions": len(questions),
        "n_answerable": sum(q.answerable for q in questions),
        "index": retriever.index.manifest.to_dict() | {"documents": len(retriever.index.manifest.documents)},
    }
    report = build_report(reports, answers, meta)
    paths = write_report(report, args.out)
    print(to_markdown(report))
    _notify("wrote " + ", ".join(str(p) for p in paths))
    return 0


# ---- parser -------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index-dir", type=Path, help="index directory (env ASKDOC_INDEX_DIR)")
    common.add_argument("--device", help="auto, cpu, cuda, cuda:1 ... (env ASKDOC_DEVICE)")

    parser = argparse.ArgumentParser(
        prog="askdoc", description="Ask questions about your documents; answers cite their sources."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("search", parents=[common], help="find the sections that answer a question")
    p.add_argument("question", help="the question, or - to read one question per line from stdin")
    p.add_argument("--k", type=int, help="number of sections (default 5)")
    p.add_argument("--mode", choices=MODES, help="retrieval mode (default hybrid)")
    p.add_argument("--json", action="store_true", help="print JSON (always on in batch mode)")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", parents=[common], help="answer a question, citing the sections it comes from")
    p.add_argument("question", help="the question, or - to read one question per line from stdin (JSON out)")
    p.add_argument("--k", type=int, help="sections to retrieve (default 5)")
    p.add_argument("--mode", choices=MODES, help="retrieval mode (default hybrid)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--stream",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="stream the draft as it is generated (default: when printing to a terminal)",
    )
    p.add_argument("--extractive", action="store_true", help="answer with source sentences only, no LLM")
    p.add_argument(
        "--backend",
        choices=("auto", "transformers", "llama.cpp", "openai"),
        help="LLM backend (env ASKDOC_LLM_BACKEND)",
    )
    p.add_argument("--model", help="LLM: 'smollm2' (bundled), a local path or a hub id (env ASKDOC_LLM_MODEL)")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("index", help="build or extend the index")
    isub = p.add_subparsers(dest="index_command", required=True, metavar="ACTION")
    b = isub.add_parser("build", parents=[common], help="build the index (default corpus + added documents)")
    b.add_argument("--rebuild", action="store_true", help="rebuild even when the index is up to date")
    b.add_argument("--faiss", choices=("flat", "hnsw"), help="FAISS index kind (default flat: exact)")
    b.add_argument(
        "--reranker",
        action="store_true",
        help="also train the domain reranker when missing or stale (done anyway when the mode is rerank)",
    )
    b.add_argument("--no-reranker", action="store_true", help="never train the reranker during a build")
    b.set_defaults(func=cmd_index_build)
    a = isub.add_parser("add", parents=[common], help="add or update Markdown / plain-text documents")
    a.add_argument("paths", nargs="+", help="files to add")
    a.set_defaults(func=cmd_index_add)
    i = isub.add_parser("info", parents=[common], help="show what the index holds")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_index_info)

    p = sub.add_parser("reranker", help="the cross-encoder of mode rerank")
    rsub = p.add_subparsers(dest="reranker_command", required=True, metavar="ACTION")
    t = rsub.add_parser("train", parents=[common], help="train it on the indexed collection (skipped when current)")
    t.add_argument("--epochs", type=float, help="passes over the training groups (default 2.5)")
    t.add_argument("--steps", type=int, help="exactly this many optimizer steps instead of --epochs")
    t.add_argument("--seed", type=int, help="random seed (default 13)")
    t.set_defaults(func=cmd_reranker_train)

    p = sub.add_parser("serve", parents=[common], help="serve the HTTP API")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="processes; each loads its own models")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("eval", parents=[common], help="measure retrieval (and answers) on a question set")
    p.add_argument("--queries", type=Path, help="JSONL question file (default: the bundled dev set)")
    p.add_argument("--modes", default="bm25,dense,hybrid", help="comma-separated modes to compare")
    p.add_argument("--split", default="all", choices=("all", "tune", "test"), help="which part of the set")
    p.add_argument("--k", type=int, default=5, help="k of hit@k and recall@k (default 5)")
    p.add_argument("--answers", action="store_true", help="also answer every question and score the answers")
    p.add_argument("--out", type=Path, default=Path("eval-report"), help="report directory")
    p.set_defaults(func=cmd_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except AskdocError as exc:
        print(f"askdoc: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("askdoc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
