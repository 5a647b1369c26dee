"""Entry point for ASGI servers: ``uvicorn --factory civicpulse.web.asgi:app_from_env``.

Each server process reads the settings from the environment and builds its own context,
so several stateless processes can share one PostgreSQL database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from civicpulse.bootstrap import build_context, build_transport
from civicpulse.jobs.runner import JobLoop
from civicpulse.web.app import create_app


def app_from_env() -> FastAPI:
    ctx = build_context()
    app = create_app(ctx)
    jobs = (
        JobLoop(ctx, build_transport(ctx.settings), ctx.settings.job_interval_seconds)
        if ctx.settings.run_jobs_in_process
        else None
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if jobs is not None:
            jobs.start()
        try:
            yield
        finally:
            if jobs is not None:
                jobs.stop()
            ctx.close()

    app.router.lifespan_context = lifespan
    return app
