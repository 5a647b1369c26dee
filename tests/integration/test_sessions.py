"""Sessions are revocable (issue 10, finding 5), on SQLite and PostgreSQL.

A staff token used to live its 12 hours whatever happened: logging out only dropped the
browser's cookie, so a copied cookie or Bearer token went on working. Now logging out ends
the token on the server (API and page), changing one's password ends every other session,
and an administrator can end all sessions of a user or disable the account (page and CLI).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from civicpulse.cli import app
from tests.city import PASSWORD, City

NEW_PASSWORD = "a new and longer password"


def _works(city: City, token: str) -> bool:
    """Whether ``token`` still opens the staff API as Bearer and the staff pages as cookie."""
    jar = city.client.cookies
    saved = list(jar.jar)
    jar.clear()
    bearer = city.client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
    jar.set("cp_session", token)
    page = city.client.get("/staff", follow_redirects=False)
    jar.clear()
    for cookie in saved:
        jar.jar.set_cookie(cookie)
    assert (bearer.status_code == 200) == (page.status_code == 200), (bearer, page)
    return bearer.status_code == 200


def _token(city: City, username: str, password: str = PASSWORD) -> str:
    r = city.client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _page_login(city: City, username: str) -> str:
    """Log in through the staff page; returns the session cookie's token."""
    csrf = _csrf(city, "/staff/login")
    r = city.client.post(
        "/staff/login",
        data={"csrf_token": csrf, "username": username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    token = city.client.cookies.get("cp_session")
    assert token
    return str(token)


def _csrf(city: City, path: str) -> str:
    r = city.client.get(path)
    assert r.status_code == 200, r.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    assert match
    return match.group(1)


def test_api_logout_ends_the_token_as_bearer_and_as_cookie(city: City) -> None:
    token = _token(city, "roads1")
    other = _token(city, "roads1")
    assert _works(city, token)
    r = city.client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 204
    assert not _works(city, token)
    assert _works(city, other)  # only the session that logged out ended
    again = city.client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 204  # ending an ended session is no error
    assert city.client.post("/api/v1/auth/logout").status_code == 401


def test_page_logout_ends_the_session_on_the_server(city: City) -> None:
    token = _page_login(city, "dispatch")
    csrf = _csrf(city, "/staff")
    r = city.client.post("/staff/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert not _works(city, token)  # a copy of the cookie is worth nothing now


def test_a_password_change_ends_every_other_session(city: City) -> None:
    current = _token(city, "roads1")
    stolen = _token(city, "roads1")
    auth = {"Authorization": f"Bearer {current}"}
    wrong = city.client.post(
        "/api/v1/auth/password",
        json={"current_password": "not it at all", "new_password": NEW_PASSWORD},
        headers=auth,
    )
    assert wrong.status_code == 403
    assert _works(city, stolen)
    r = city.client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"sessions_ended": 1}
    assert not _works(city, stolen)
    assert _works(city, current)
    old = city.client.post("/api/v1/auth/token", data={"username": "roads1", "password": PASSWORD})
    assert old.status_code == 401
    assert _token(city, "roads1", NEW_PASSWORD)


def test_the_password_page_changes_it_and_keeps_this_session(city: City) -> None:
    elsewhere = _token(city, "parks1")
    here = _page_login(city, "parks1")
    csrf = _csrf(city, "/staff/password")
    r = city.client.post(
        "/staff/password",
        data={"csrf_token": csrf, "current_password": PASSWORD,
              "new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD},
    )
    assert r.status_code == 200 and "1" in r.text, r.text
    assert not _works(city, elsewhere)
    assert _works(city, here)


def test_an_admin_ends_all_sessions_of_a_user_on_the_page(city: City) -> None:
    victim = [_token(city, "roads2"), _token(city, "roads2")]
    # a dispatcher may not
    _page_login(city, "dispatch")
    csrf = _csrf(city, "/staff")
    refused = city.client.post(
        "/staff/admin/sessions", data={"csrf_token": csrf, "username": "roads2"}
    )
    assert refused.status_code == 403
    assert all(_works(city, t) for t in victim)
    _page_login(city, "admin")
    csrf = _csrf(city, "/staff/admin")
    assert "End all sessions" in city.client.get("/staff/admin").text
    r = city.client.post(
        "/staff/admin/sessions",
        data={"csrf_token": csrf, "username": "roads2"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert not any(_works(city, t) for t in victim)
    assert _token(city, "roads2")  # the user can log in again


def test_disabling_an_account_ends_its_sessions_and_logins(city: City) -> None:
    token = _token(city, "roads2")
    _page_login(city, "admin")
    csrf = _csrf(city, "/staff/admin")
    r = city.client.post(
        "/staff/admin/disable",
        data={"csrf_token": csrf, "username": "roads2"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert not _works(city, token)
    refused = city.client.post(
        "/api/v1/auth/token", data={"username": "roads2", "password": PASSWORD}
    )
    assert refused.status_code == 401
    _page_login(city, "admin")
    csrf = _csrf(city, "/staff/admin")
    city.client.post("/staff/admin/enable", data={"csrf_token": csrf, "username": "roads2"})
    assert _token(city, "roads2")


def test_cli_ends_sessions_and_sets_a_password(
    city: City, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    monkeypatch.setenv("CIVICPULSE_DATABASE_URL", db_url)
    monkeypatch.setenv("CIVICPULSE_DATA_DIR", str(tmp_path / "data"))
    token = _token(city, "audit")
    r = CliRunner().invoke(app, ["users", "end-sessions", "audit"])
    assert r.exit_code == 0 and "1 session(s) of audit ended" in r.output, r.output
    assert not _works(city, token)
    token = _token(city, "audit")
    r = CliRunner().invoke(
        app, ["users", "set-password", "audit"], input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n"
    )
    assert r.exit_code == 0 and "1 session(s) ended" in r.output, r.output
    assert not _works(city, token)
    assert _token(city, "audit", NEW_PASSWORD)
    r = CliRunner().invoke(app, ["users", "end-sessions", "nobody"])
    assert r.exit_code == 2 and "no staff account" in r.output
