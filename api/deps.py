"""What the route handlers share: the settings, the answer gate and the engine once its models are loaded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from api.errors import ApiError
from api.gate import AnswerGate
from rag.config import Settings
from rag.pipeline import AskDoc


@dataclass
class Runtime:
    settings: Settings
    gate: AnswerGate
    loaded: AskDoc | None = None  # set by the lifespan once the models are loaded

    def engine(self) -> AskDoc:
        """The engine, or 503 while the models are still loading."""
        if self.loaded is None:
            raise ApiError(503, "still loading models", "unavailable")
        return self.loaded


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


# A handler parameter of this type gets the app's Runtime (it never fails, so it cannot pre-empt body checks).
Rt = Annotated[Runtime, Depends(_runtime)]
