"""Browser fixtures: Debian's Chromium driven by Playwright, against the real server.

Missing Chromium, Playwright or axe-core skips these tests on a laptop (with the reason) but
fails them when CI=true, so a broken CI machine cannot pass by skipping."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from civicpulse.infra.context import Context
from tests.city import seed_city
from tests.live import cli_env, live_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests need it in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def browser() -> Iterator[Any]:
    """Per test on purpose: Playwright's sync API keeps an event loop running in this thread
    while it is open, which would break later tests that call asyncio.run()."""
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} not installed (apt-get install chromium fonts-wqy-zenhei)")
    if not AXE.exists():
        _missing(f"{AXE} missing (run npm ci)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright Python package is not installed")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def site(ctx: Context, db_url: str, tmp_path: Path) -> Iterator[str]:
    """The test city served by ``civicpulse serve`` on a free port."""
    seed_city(ctx)
    env = cli_env(
        db_url,
        tmp_path / "serve-data",
        CIVICPULSE_PUBLIC_RATE_LIMIT_PER_MINUTE="100000",
        CIVICPULSE_LOGIN_RATE_LIMIT_PER_MINUTE="1000",
        CIVICPULSE_SCORECARD_MIN_SAMPLE="1",
        # the jobs run in-process as on the embedded default: the redaction pass is what
        # lets a Chinese title onto the public pages
        CIVICPULSE_JOB_INTERVAL_SECONDS="1",
    )
    with live_server(env) as base:
        yield base


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    folder = ARTIFACTS / request.node.name.replace("[", "-").replace("]", "")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
