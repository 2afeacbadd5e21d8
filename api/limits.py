"""The bound on request bodies: beyond `max_request_bytes` a request gets 413 with the API's JSON error.

A declared Content-Length over the limit is refused before anything is read; a body without one (chunked) or
with a false one is counted as it arrives, and refused as soon as it passes the limit, so an oversized body is
never held in memory whole.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response


class BodyTooLarge(HTTPException):
    """Raised from receive(): FastAPI passes an HTTPException raised while reading the body on to the app's
    handler (api.errors), which answers with the JSON error body."""

    def __init__(self, limit: int, setting: str = "max_request_bytes") -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes ({setting})")


class BodyLimit:
    """ASGI middleware: 413 for a request body over `limit` bytes (`uploads`: a larger limit for uploads to
    one path, POST /documents)."""

    def __init__(self, app: ASGIApp, limit: int, uploads: tuple[str, int] | None = None) -> None:
        self.app = app
        self.default = limit
        self.uploads = uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = self.uploads is not None and scope.get("path") == self.uploads[0]
        limit, setting = (self.uploads[1], "max_upload_bytes") if upload and self.uploads else (self.default, "")
        await self._limited(scope, receive, send, limit, setting or "max_request_bytes")

    async def _limited(self, scope: Scope, receive: Receive, send: Send, limit: int, setting: str) -> None:
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit, setting)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit, setting)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:  # read outside a handler (no JSON endpoint): answered here, if nothing was sent yet
            if started:
                raise
            await self._refuse(scope, receive, send, limit, setting)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int, setting: str) -> None:
        exc = BodyTooLarge(limit, setting)
        await error_response(exc.status_code, exc.detail, "too_large")(scope, receive, send)
