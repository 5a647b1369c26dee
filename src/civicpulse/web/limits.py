"""Guards in front of the app: a body-size cap and per-client rate limits.

The cap is pure ASGI so an oversized body is refused while it streams in, before any of it
is parsed; the rate limiter is a sliding window per client address and bucket, per process.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


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


class RateLimiter:
    """At most ``limit`` hits per ``window`` seconds for each key."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[Any, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: Any) -> tuple[bool, float]:
        """(allowed, seconds until the next hit would be allowed)."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False, self.window - (now - hits[0])
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle clients rather than grow forever
                self._hits = {k: v for k, v in self._hits.items() if v}
            return True, 0.0
