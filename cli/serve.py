"""`askdoc serve`: the HTTP API under uvicorn."""

from __future__ import annotations

import argparse
import copy
import errno
import os
import socket
from typing import Any

from cli.common import bounded, notify, settings_from
from corpus.errors import InvalidInputError


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("serve", parents=[common], help="serve the HTTP API")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    p.add_argument("--port", type=bounded(1, 65535), default=8000, help="TCP port (default 8000)")
    p.add_argument(
        "--workers",
        type=bounded(1, 512),
        default=1,
        help="processes (default 1); each loads its own models, all map one on-disk index",
    )
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from rag.collection import require_collection

    settings = settings_from(args)  # validates ASKDOC_* before any worker starts
    require_collection(settings)
    check_address(args.host, args.port)
    # Workers are separate processes that build their settings from the environment: pass the flags on there.
    if args.index_dir:
        os.environ["ASKDOC_INDEX_DIR"] = str(args.index_dir)
    if args.device:
        os.environ["ASKDOC_DEVICE"] = args.device
    if args.collection:  # the collection of requests that name none
        os.environ["ASKDOC_COLLECTION"] = args.collection
    level = logging.DEBUG if settings.debug else logging.INFO
    logging.basicConfig(level=level, format="%(message)s")
    if args.host not in ("127.0.0.1", "localhost", "::1") and not settings.api_key:
        notify(f"serving on {args.host} without an API key (set ASKDOC_API_KEY to require one)")
    log_config = logging_config(uvicorn.config.LOGGING_CONFIG, logging.getLevelName(level))
    app = "api.app:create_app"
    uvicorn.run(app, factory=True, host=args.host, port=args.port, workers=args.workers, log_config=log_config)
    return 0


def check_address(host: str, port: int) -> None:
    """Whether the server can listen there, said at once: uvicorn says it only after the models have loaded (~20 s),
    in a traceback's words. The socket is closed again at once; uvicorn binds it as this one did."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        taken = " (another server is using it: choose another with --port)" if exc.errno == errno.EADDRINUSE else ""
        raise InvalidInputError(f"cannot serve on {host}:{port}: {exc.strerror or exc}{taken}") from None


def logging_config(base: dict[str, Any], level: str) -> dict[str, Any]:
    """uvicorn's logging with askdoc's own lines (the index build, requests, "askdoc is ready") at `level`: uvicorn
    applies it in every worker process, where the command's own logging set-up does not reach."""
    config = copy.deepcopy(base)
    config["formatters"]["askdoc"] = {"format": "%(message)s"}
    config["handlers"]["askdoc"] = {
        "formatter": "askdoc",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
    }
    config["loggers"]["askdoc"] = {"handlers": ["askdoc"], "level": level, "propagate": False}
    return config
