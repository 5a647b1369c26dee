"""Request-scoped helpers: the context, who is calling, and the public rate limit."""

from __future__ import annotations

import asyncio

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from civicpulse.domain.errors import DomainError, NotAuthenticated, ValidationFailed
from civicpulse.domain.roles import Actor
from civicpulse.infra.context import Context
from civicpulse.infra.rate_limits import Limiter
from civicpulse.services.staff import actor_for_api_key, actor_for_token, sha256

bearer = HTTPBearer(auto_error=False)


class RateLimited(DomainError):
    status_code = 429


async def refuse_nul(request: Request) -> None:
    """PostgreSQL cannot hold or compare text with NUL, so no path or query part may carry one.

    Open311 refuses it itself, in the specification's error format (``routes/open311.py``)."""
    if request.url.path.startswith("/open311/"):
        return
    parts = [*request.path_params.values(), *(x for kv in request.query_params.multi_items()
                                              for x in kv)]
    if any("\x00" in str(p) for p in parts):
        raise ValidationFailed("the address must not contain NUL characters (%00)")


def ctx_of(request: Request) -> Context:
    """The application's context, which the app factory put on its state: the one place
    that knows where it lives."""
    ctx: Context = request.app.state.ctx
    return ctx


async def get_ctx(request: Request) -> Context:
    """Async on purpose: FastAPI runs sync dependencies in a thread, which costs more than
    this lookup."""
    return ctx_of(request)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def staff(
    request: Request,
    creds: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> Actor:
    """The logged-in staff member, or 401."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise NotAuthenticated("log in first: send Authorization: Bearer <token>")
    return actor_for_token(ctx_of(request), creds.credentials)


def limit_public(request: Request, bucket: str = "public") -> None:
    """Refuse with 429 when this address has used its share of the public endpoints.

    For sync routes, which FastAPI already runs in the thread pool; async ones await
    ``limit_public_async``, since a shared limiter asks the database or Redis."""
    limiter: Limiter = request.app.state.limiters[bucket]
    if limiter.blocking and _on_event_loop():
        raise RuntimeError("a shared rate limit was checked on the event loop; await "
                           "limit_public_async instead")
    _refuse_over(limiter.allow(client_address(request)))


async def limit_public_async(request: Request, bucket: str = "public") -> None:
    """``limit_public`` for async routes: a limiter that does I/O runs in the thread pool,
    one that counts in memory costs no thread."""
    limiter: Limiter = request.app.state.limiters[bucket]
    key = client_address(request)
    if limiter.blocking:
        _refuse_over(await run_in_threadpool(limiter.allow, key))
    else:
        _refuse_over(limiter.allow(key))


def _refuse_over(verdict: tuple[bool, float]) -> None:
    allowed, retry = verdict
    if not allowed:
        raise RateLimited(f"too many requests; try again in {int(retry) + 1} s")


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def public_caller(request: Request) -> Actor | None:
    """An integration (by API key, not rate-limited) or an anonymous, rate-limited resident.

    A known key costs no thread; a new one is looked up in the thread pool so the event
    loop never waits on the database."""
    key = request.headers.get("x-api-key")
    if key is not None:
        return await integration_for_key(request, key)
    await limit_public_async(request)
    return None


async def integration_for_key(request: Request, key: str) -> Actor:
    """The integration behind an API key, wherever the key was sent (a header here, also
    ``api_key`` in Open311): a known key costs no thread, a new one is looked up in the
    thread pool so the event loop never waits on the database."""
    ctx = ctx_of(request)
    cached = ctx.api_keys.get(sha256(key))
    if cached is None:
        cached = await run_in_threadpool(actor_for_api_key, ctx, key)
    return cached


async def staff_or_integration(
    request: Request,
    creds: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> Actor:
    """A partner system by its API key, else a logged-in staff member; 401 for anyone else."""
    if request.headers.get("x-api-key") is not None:
        actor = await public_caller(request)
        assert actor is not None  # a key was sent: unknown keys are refused inside
        return actor
    return await run_in_threadpool(staff, request, creds)
