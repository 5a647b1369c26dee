"""Catalogue, accounts and keys are guarded inside the services, not only by the pages."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from civicpulse.domain.errors import PermissionDenied
from civicpulse.domain.roles import RESIDENT, Actor, Role
from civicpulse.infra.context import Context
from civicpulse.services.catalogue import import_catalogue
from civicpulse.services.staff import add_api_key, add_user, revoke_api_key
from civicpulse.storage.tables import ApiKey, Category, StaffUser

OFFICER = Actor(kind="staff", name="roads1", user_id=3, role=Role.OFFICER)
DISPATCHER = Actor(kind="staff", name="dispatch", user_id=2, role=Role.DISPATCHER)
ADMIN = Actor(kind="staff", name="admin", user_id=1, role=Role.ADMIN)
PARTNER = Actor(kind="integration", name="partner-app")


def _counts(ctx: Context) -> tuple[int, int, int]:
    with ctx.db.reader() as s:
        return tuple(  # type: ignore[return-value]
            int(s.scalar(select(func.count()).select_from(t)) or 0)
            for t in (Category, StaffUser, ApiKey)
        )


@pytest.mark.parametrize("who", [OFFICER, DISPATCHER, RESIDENT, PARTNER])
def test_only_admins_and_the_operator_change_the_catalogue_accounts_and_keys(
    ctx: Context, who: Actor
) -> None:
    before = _counts(ctx)
    with pytest.raises(PermissionDenied):
        import_catalogue(ctx, who, {"categories": [{"code": "x", "name_en": "X"}]})
    with pytest.raises(PermissionDenied):
        add_user(ctx, who, "mallory", "admin", "a long password")
    with pytest.raises(PermissionDenied):
        add_api_key(ctx, who, "sneaky")
    with pytest.raises(PermissionDenied):
        revoke_api_key(ctx, who, 1)
    assert _counts(ctx) == before


def test_an_admin_may(ctx: Context) -> None:
    import_catalogue(ctx, ADMIN, {"categories": [{"code": "x", "name_en": "X"}]})
    add_user(ctx, ADMIN, "newbie", "dispatcher", "a long password")
    add_api_key(ctx, ADMIN, "partner")
    assert _counts(ctx) == (1, 1, 1)
