"""Guards in front of the app: a body-size cap (the rate limits are in
``infra/rate_limits.py``, shared by every server process when they need to be).

The cap is pure ASGI so an oversized body is refused while it streams in, before any of it
is parsed.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from civicpulse.infra.rate_limits import MemoryLimiter


class BodySizeLimit:
    """Refuses bodies over ``max_bytes``; ``overrides`` gives named paths their own cap (the
    report form carries a photo, which no other request needs)."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, overrides: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = overrides or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.overrides.get(scope.get("path", ""), self.max_bytes)
        headers = dict(scope.get("headers") or [])
        wants_html = b"text/html" in headers.get(b"accept", b"")
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            await self._refuse(send, cap, wants_html)
            return
        seen = 0
        too_big = False

        async def counted() -> Message:
            # past the cap, the app sees the client go away (never a cut-short body that
            # might still parse and be acted on); its answer is then replaced by 413
            nonlocal seen, too_big
            if too_big:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    too_big = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not too_big:
                await send(message)

        await self.app(scope, counted, guarded_send)
        if too_big:
            await self._refuse(send, cap, wants_html)

    async def _refuse(self, send: Send, cap: int, wants_html: bool) -> None:
        if wants_html:
            # a browser (a resident with a huge photo) gets a page, in both languages since
            # nothing of the request has been read to choose one
            body = (
                "<!doctype html><meta charset=utf-8><title>413</title>"
                f"<p>The form is too large (limit {cap / 1_000_000:g} MB): "
                "go back and choose a smaller photo.</p>"
                f"<p>提交的内容过大（上限 {cap / 1_000_000:g} MB）：请返回并选择较小的照片。</p>"
            ).encode()
            content_type = b"text/html; charset=utf-8"
        else:
            body = json.dumps({"detail": f"request body is larger than {cap} bytes"}).encode()
            content_type = b"application/json"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


#: the per-process limiter under its old name (tests put a tight one on an app)
RateLimiter = MemoryLimiter
