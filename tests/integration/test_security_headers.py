"""Error responses carry the same security headers as pages: a 413 from the body-size guard
and a 500 from a crash used to leave without them."""

from __future__ import annotations

from fastapi.testclient import TestClient

from civicpulse.infra.context import Context
from civicpulse.web.app import create_app

EXPECTED = ("content-security-policy", "x-content-type-options", "x-frame-options")


def _has_headers(headers: object) -> bool:
    return all(name in headers for name in EXPECTED)  # type: ignore[operator]


def test_an_oversized_body_is_refused_with_the_security_headers(ctx: Context) -> None:
    with TestClient(create_app(ctx)) as client:
        r = client.post(
            "/api/v1/voices",
            content=b"x" * (ctx.settings.max_body_bytes + 1),
            headers={"content-type": "application/json"},
        )
    assert r.status_code == 413
    assert _has_headers(r.headers), r.headers


def test_a_crash_is_answered_with_a_500_that_carries_the_security_headers(ctx: Context) -> None:
    app = create_app(ctx)

    @app.get("/crash-for-test")
    def crash() -> None:
        raise RuntimeError("deliberate")

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/crash-for-test")
    assert r.status_code == 500
    assert _has_headers(r.headers), r.headers
    assert "deliberate" not in r.text  # no internals leak to the caller
