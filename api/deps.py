"""What the route handlers share: the settings, the answer gate and the engines once their models are loaded."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from api.errors import ApiError
from api.gate import AnswerGate
from corpus.errors import AskdocError, CollectionNotFoundError
from corpus.ids import check_collection_name
from rag.config import Settings
from rag.pipeline import AskDoc

log = logging.getLogger("askdoc.api")
READY = "askdoc is ready: models and index loaded"  # logged once per worker process
STARTING_RETRY_S = "2"  # a starting server's 503: ask again this soon


@dataclass
class Runtime:
    settings: Settings
    gate: AnswerGate
    loaded: AskDoc | None = None  # set once the models are loaded (start()): the settings' collection
    starting: str = "loading the models"  # what a starting server is doing: its last notice
    failed: str = ""  # why it could not start
    # The other collections asked for, each loaded on first use and kept; all share `loaded`'s models.
    engines: dict[str, AskDoc] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def engine(self, collection: str | None = None, create: bool = False) -> AskDoc:
        """The engine of a collection (default: the settings' one), or 503 while the models are still loading.

        A bad name is a 400; a collection with no index a 404, unless `create` (an upload makes it)."""
        if self.loaded is None:
            if self.failed:
                raise ApiError(503, f"the server could not start: {self.failed}", "unavailable")
            raise ApiError(503, f"starting: {self.starting}", "unavailable", {"Retry-After": STARTING_RETRY_S})
        name = check_collection_name(collection or self.loaded.settings.collection)
        if name == self.loaded.settings.collection:
            found = self.loaded
        else:
            with self._lock:
                found = self.engines.get(name)
                if found is None:
                    found = self.loaded.for_collection(name)
                    if not create:
                        found.retriever.warm_up()  # CollectionNotFoundError (a 404) when there is none
                    self.engines[name] = found
        # Another worker's upload or an `askdoc index add` meanwhile: serve what is on disk now.
        try:
            found.follow_disk()
        except CollectionNotFoundError:  # removed from the shell; it forgot its index, and an upload makes it again
            if not create:
                raise
        return found

    def start(self, engine: AskDoc) -> None:
        """Load the engine's models and index (building it on a first run): run beside the server, which answers
        meanwhile (/healthz at once, the rest 503 with what it is doing), so a first run's page is there at once."""
        try:
            engine.warm_up()
        except AskdocError as exc:
            self.failed = str(exc)
            log.error("askdoc could not start: %s", exc)
            return
        except Exception:
            self.failed = "internal error (see the server log)"
            log.exception("askdoc could not start")
            return
        self.loaded = engine
        log.info(READY)

    def note(self, message: str) -> None:
        """A notice while starting (a first run's index build): logged, and said by every 503 until ready."""
        log.info(message)
        if self.loaded is None:
            self.starting = message


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


# A handler parameter of this type gets the app's Runtime (it never fails, so it cannot pre-empt body checks).
Rt = Annotated[Runtime, Depends(_runtime)]
