"""The secret behind residents' keyed hashes (``domain/resident_keys.py``), shared by every
process: the operator's ``CIVICPULSE_RESIDENT_KEY_SECRET``, or one this installation made on
first use and keeps in the database (so a second server, a worker and the CLI all hash a
phone number to the same key without anyone having to configure anything)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from civicpulse.storage.tables import SiteSecret

if TYPE_CHECKING:
    from civicpulse.infra.context import Context

SECRET_NAME = "resident-keys"


def identity_secret(ctx: Context) -> bytes:
    """The key of every resident key; made (once, race-free) when the database has none."""
    given = ctx.settings.resident_key_secret
    if given:
        return given.encode()
    with ctx.db.reader() as s:
        found = _stored(s)
    if found is not None:
        return found
    with ctx.db.transaction() as s:
        make = pg_insert if ctx.db.dialect == "postgresql" else sqlite_insert
        s.execute(
            make(SiteSecret)
            .values(name=SECRET_NAME, value=secrets.token_hex(32), created_at=ctx.now())
            .on_conflict_do_nothing(index_elements=["name"])
        )
        made = _stored(s)
    assert made is not None
    return made


def _stored(session: Session) -> bytes | None:
    value = session.scalar(select(SiteSecret.value).where(SiteSecret.name == SECRET_NAME))
    return bytes.fromhex(value) if value else None
