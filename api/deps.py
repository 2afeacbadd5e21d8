"""What the route handlers share: the settings, the answer gate and the engines once their models are loaded."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from api.errors import ApiError
from api.gate import AnswerGate
from corpus.errors import CollectionNotFoundError
from corpus.ids import check_collection_name
from rag.config import Settings
from rag.pipeline import AskDoc


@dataclass
class Runtime:
    settings: Settings
    gate: AnswerGate
    loaded: AskDoc | None = None  # set by the lifespan once the models are loaded: the settings' collection
    # The other collections asked for, each loaded on first use and kept; all share `loaded`'s models.
    engines: dict[str, AskDoc] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def engine(self, collection: str | None = None, create: bool = False) -> AskDoc:
        """The engine of a collection (default: the settings' one), or 503 while the models are still loading.

        A bad name is a 400; a collection with no index a 404, unless `create` (an upload makes it)."""
        if self.loaded is None:
            raise ApiError(503, "still loading models", "unavailable")
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


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


# A handler parameter of this type gets the app's Runtime (it never fails, so it cannot pre-empt body checks).
Rt = Annotated[Runtime, Depends(_runtime)]
