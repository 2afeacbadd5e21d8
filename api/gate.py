"""The bound on answers in progress. Answers are generated one at a time on the one model (AskDoc holds the
lock); at most `bound` may wait or run, and further requests get 503 with Retry-After at once instead of hanging."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

import anyio

from api.errors import ApiError

T = TypeVar("T")


class Busy(ApiError):
    """The answer queue is full."""

    def __init__(self) -> None:
        super().__init__(503, "too many answers in progress; retry shortly", "busy", {"Retry-After": "5"})


class AnswerGate:
    """Counts answers queued or running; refuses new ones beyond the bound instead of letting them pile up."""

    def __init__(self, bound: int, timeout_s: float) -> None:
        self.bound = bound
        self.timeout_s = timeout_s
        self._n = 0
        self._lock = threading.Lock()

    def enter(self) -> None:
        """Take a place, or raise Busy; whoever enters must leave() once the answer is done."""
        with self._lock:
            if self._n >= self.bound:
                raise Busy
            self._n += 1

    def leave(self) -> None:
        with self._lock:
            self._n -= 1

    async def run(self, answer: Callable[[], T]) -> T:
        """Run one answer in a worker thread, holding a place. A request that times out gets 504 at once, but a
        thread cannot be stopped: its answer keeps its place in the count until the thread is done, so abandoned
        answers cannot pile up behind the generation lock beyond the bound."""
        self.enter()
        claim = threading.Lock()
        started = abandoned = False

        def job() -> T | None:
            nonlocal started
            with claim:
                if abandoned:  # the request gave up before a thread took the job: the gate is already left
                    return None
                started = True
            try:
                return answer()
            finally:
                self.leave()

        try:
            return await asyncio.wait_for(  # type: ignore[return-value]
                anyio.to_thread.run_sync(job, abandon_on_cancel=True), timeout=self.timeout_s
            )
        except TimeoutError:
            raise ApiError(504, f"no answer within {self.timeout_s:g} s", "timeout") from None
        finally:
            with claim:
                if not started:
                    abandoned = True
                    self.leave()
