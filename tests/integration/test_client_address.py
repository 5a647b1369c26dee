"""Who the client is, for rate limits: a caller must not choose its own address.

uvicorn believes ``X-Forwarded-For`` from loopback unless told otherwise, so a script on the
same machine as the server (or behind a proxy that passes the header through) could send a
new address with every request and never be limited. Only addresses listed in
``CIVICPULSE_TRUSTED_PROXIES`` may say who the client is.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.live import cli_env, live_server, run_cli

LIMIT = 3


def _answers(base: str, n: int) -> list[int]:
    url = "/api/v1/departments/scorecard"
    with httpx.Client(base_url=base, timeout=10) as http:
        return [
            http.get(url, headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
            for i in range(n)
        ]


def test_a_forged_forwarded_for_does_not_escape_the_rate_limit(
    db_url: str, tmp_path: Path
) -> None:
    env = cli_env(db_url, tmp_path / "data", CIVICPULSE_PUBLIC_RATE_LIMIT_PER_MINUTE=str(LIMIT))
    assert run_cli(env, "init").returncode == 0
    with live_server(env) as base:
        answers = _answers(base, LIMIT + 2)
    assert answers[:LIMIT] == [200] * LIMIT
    assert answers[LIMIT:] == [429, 429], answers


def test_a_configured_proxy_is_believed(db_url: str, tmp_path: Path) -> None:
    env = cli_env(
        db_url,
        tmp_path / "data",
        CIVICPULSE_PUBLIC_RATE_LIMIT_PER_MINUTE=str(LIMIT),
        CIVICPULSE_TRUSTED_PROXIES="127.0.0.1",
    )
    assert run_cli(env, "init").returncode == 0
    with live_server(env) as base:
        # each request comes from another client behind the proxy: none is limited
        assert _answers(base, LIMIT + 2) == [200] * (LIMIT + 2)
