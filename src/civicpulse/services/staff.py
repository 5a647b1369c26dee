"""Staff accounts, their bearer tokens and integration API keys.

Passwords are hashed with argon2; tokens and API keys are random and stored as SHA-256, so
whoever reads the database still cannot log in or call the API.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from civicpulse.domain.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from civicpulse.domain.roles import Actor, Role, require_administrator
from civicpulse.infra.context import Context
from civicpulse.storage.audit_log import append_audit
from civicpulse.storage.tables import ApiKey, Department, StaffToken, StaffUser


def hasher(ctx: Context) -> PasswordHasher:
    """argon2 with the installation's costs; old hashes keep verifying under their own."""
    return PasswordHasher(
        time_cost=ctx.settings.password_hash_time_cost,
        memory_cost=ctx.settings.password_hash_memory_kib,
    )


def _decoy_hash(ctx: Context) -> str:
    return hasher(ctx).hash("decoy password for unknown users")


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass
class UserInfo:
    id: int
    username: str
    role: str
    department: str | None
    active: bool


@dataclass
class ApiKeyInfo:
    """An API key as listed: its prefix, never the key, which is shown once when made."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    #: the staff account the key acts as when it changes cases, if any
    acts_as: str | None = None


def add_user(
    ctx: Context,
    actor: Actor,
    username: str,
    role: str,
    password: str,
    department: str | None = None,
) -> UserInfo:
    require_administrator(actor)
    if not username.strip() or len(username) > 100:
        raise ValidationFailed("username must be 1–100 characters")
    try:
        role_ = Role(role)
    except ValueError as exc:
        raise ValidationFailed(f"role must be one of {', '.join(r.value for r in Role)}") from exc
    if len(password) < 8:
        raise ValidationFailed("password must be at least 8 characters")
    if role_ is Role.OFFICER and not department:
        raise ValidationFailed("an officer needs a department")
    now = ctx.now()
    # hash before the transaction: argon2 is slow on purpose and must not hold the write lock
    password_hash = hasher(ctx).hash(password)
    with ctx.db.transaction() as s:
        if s.scalar(select(StaffUser.id).where(StaffUser.username == username)):
            raise Conflict(f"user {username!r} already exists")
        dept_id = None
        if department:
            dept_id = s.scalar(select(Department.id).where(Department.code == department))
            if dept_id is None:
                raise NotFound(f"unknown department {department!r}")
        user = StaffUser(
            username=username,
            password_hash=password_hash,
            role=role_.value,
            department_id=dept_id,
            active=True,
            created_at=now,
        )
        s.add(user)
        s.flush()
        append_audit(
            s,
            actor=actor.label,
            action="user.added",
            subject=f"user:{user.id}",
            data={"username": username, "role": role_.value, "department": department},
            at=now,
        )
        return UserInfo(user.id, username, role_.value, department, True)


def list_users(ctx: Context) -> list[UserInfo]:
    with ctx.db.reader() as s:
        depts = dict(s.execute(select(Department.id, Department.code)).all())
        return [
            UserInfo(u.id, u.username, u.role, depts.get(u.department_id or -1), u.active)
            for u in s.scalars(select(StaffUser).order_by(StaffUser.id))
        ]


def login(ctx: Context, username: str, password: str) -> str:
    """Check a password and hand out a bearer token; the same error for any failure.

    The slow hash check runs outside any write transaction so logins never block intake.
    """
    with ctx.db.reader() as s:
        user = (
            None  # no account has a NUL in its name, and PostgreSQL cannot even compare one
            if "\x00" in username
            else s.scalars(select(StaffUser).where(StaffUser.username == username)).first()
        )
        if user is not None:
            s.expunge(user)  # keep its loaded fields: the reader's rollback would expire them
    # hash even for an unknown user, so timing does not reveal which usernames exist
    stored = user.password_hash if user is not None else _decoy_hash(ctx)
    ok: bool
    try:
        ok = hasher(ctx).verify(stored, password)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None or not user.active:
        raise NotAuthenticated("wrong username or password")
    token = secrets.token_urlsafe(32)
    now = ctx.now()
    with ctx.db.transaction() as s:
        s.add(
            StaffToken(
                token_hash=sha256(token),
                user_id=user.id,
                created_at=now,
                expires_at=now + timedelta(hours=ctx.settings.token_ttl_hours),
            )
        )
    return token


def actor_for_token(ctx: Context, token: str) -> Actor:
    with ctx.db.reader() as s:
        row = s.execute(
            select(StaffToken, StaffUser)
            .join(StaffUser, StaffUser.id == StaffToken.user_id)
            .where(StaffToken.token_hash == sha256(token))
        ).first()
        if row is None:
            raise NotAuthenticated("invalid or expired token")
        tok, user = row
        if tok.expires_at < ctx.now() or not user.active:
            raise NotAuthenticated("invalid or expired token")
        return staff_actor(user)


def staff_actor(user: StaffUser) -> Actor:
    return Actor(
        kind="staff",
        name=user.username,
        user_id=user.id,
        role=Role(user.role),
        department_ids=frozenset({user.department_id}) if user.department_id else frozenset(),
    )


# ---- API keys ------------------------------------------------------------------------------


def add_api_key(ctx: Context, actor: Actor, name: str, acts_as: str | None = None) -> str:
    """Create a key and return it; only its hash is kept, so this is the one time it is shown.

    ``acts_as`` binds the key to a staff account: a partner's back office (FixMyStreet posts
    Open311 updates with its api_key alone) then acts on cases with exactly that account's
    role and departments, and the timeline and audit name the account. An administrator
    makes a dedicated account for each partner, so its rights are chosen, not inherited."""
    require_administrator(actor)
    if not name.strip() or len(name) > 100:
        raise ValidationFailed("key name must be 1–100 characters")
    key = "cpk_" + secrets.token_urlsafe(32)
    now = ctx.now()
    with ctx.db.transaction() as s:
        user_id = None
        if acts_as is not None:
            user = s.scalars(select(StaffUser).where(StaffUser.username == acts_as)).first()
            if user is None or not user.active:
                raise NotFound(f"no active staff account {acts_as!r}")
            user_id = user.id
        row = ApiKey(
            name=name,
            prefix=key[:10],
            key_hash=sha256(key),
            created_at=now,
            acts_as_user_id=user_id,
        )
        s.add(row)
        s.flush()
        append_audit(
            s,
            actor=actor.label,
            action="api_key.added",
            subject=f"api_key:{row.id}",
            data={"name": name, "prefix": row.prefix, "acts_as": acts_as},
            at=now,
        )
    return key


def list_api_keys(ctx: Context) -> list[ApiKeyInfo]:
    with ctx.db.reader() as s:
        users = dict(s.execute(select(StaffUser.id, StaffUser.username)).all())
        return [
            ApiKeyInfo(
                id=k.id,
                name=k.name,
                prefix=k.prefix,
                created_at=k.created_at,
                revoked_at=k.revoked_at,
                acts_as=users.get(k.acts_as_user_id) if k.acts_as_user_id else None,
            )
            for k in s.scalars(select(ApiKey).order_by(ApiKey.id))
        ]


def revoke_api_key(ctx: Context, actor: Actor, key_id: int) -> None:
    require_administrator(actor)
    now = ctx.now()
    with ctx.db.transaction() as s:
        key = s.get(ApiKey, key_id)
        if key is None:
            raise NotFound(f"API key {key_id} not found")
        if key.revoked_at is not None:
            raise Conflict(f"API key {key_id} is already revoked")
        key.revoked_at = now
        append_audit(
            s,
            actor=actor.label,
            action="api_key.revoked",
            subject=f"api_key:{key_id}",
            data={"name": key.name},
            at=now,
        )
    ctx.api_keys.clear()


def actor_for_api_key(ctx: Context, key: str) -> Actor:
    """The integration behind a key; remembered briefly, as integrations call in bursts."""
    key_hash = sha256(key)
    cached = ctx.api_keys.get(key_hash)
    if cached is not None:
        return cached
    with ctx.db.reader() as s:
        row = s.scalars(select(ApiKey).where(ApiKey.key_hash == key_hash)).first()
        if row is None or row.revoked_at is not None:
            raise NotAuthenticated("invalid or revoked API key")
        actor = Actor(kind="integration", name=row.name)
    ctx.api_keys.put(key_hash, actor)
    return actor


def account_for_api_key(ctx: Context, key: str) -> Actor:
    """The staff account a key acts as, checked afresh on every call (not cached): a case is
    changed rarely, and a deactivated account or a revoked key must stop at once."""
    with ctx.db.reader() as s:
        row = s.scalars(select(ApiKey).where(ApiKey.key_hash == sha256(key))).first()
        if row is None or row.revoked_at is not None:
            raise NotAuthenticated("invalid or revoked API key")
        if row.acts_as_user_id is None:
            raise PermissionDenied(
                "this api_key is not bound to a staff account, so it cannot change cases; "
                "ask the city for a key made with `civicpulse keys add NAME --as USER`"
            )
        user = s.get(StaffUser, row.acts_as_user_id)
        if user is None or not user.active:
            raise PermissionDenied("the staff account this api_key acts as is deactivated")
        return staff_actor(user)


def active_staff(ctx: Context, username: str) -> Actor:
    """A staff account by name, for work done in its name outside a login (a pull's notes)."""
    with ctx.db.reader() as s:
        user = s.scalars(select(StaffUser).where(StaffUser.username == username)).first()
        if user is None or not user.active:
            raise NotFound(f"no active staff account {username!r}")
        return staff_actor(user)
