"""Staff accounts, their bearer tokens and integration API keys.

Passwords are hashed with argon2; tokens and API keys are random and stored as SHA-256, so
whoever reads the database still cannot log in or call the API.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, case, delete, literal, null, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from civicpulse.domain.errors import (
    Conflict,
    DomainError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from civicpulse.domain.roles import Actor, Role, require_administrator, require_staff
from civicpulse.infra.context import Context
from civicpulse.storage.audit_log import append_audit
from civicpulse.storage.tables import (
    ApiKey,
    Department,
    LoginAttempt,
    StaffToken,
    StaffUser,
    UTCDateTime,
)


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
    _check_password(password)
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


class LoginLocked(DomainError):
    """Too many failed logins to this account name: refused before the password is checked."""

    status_code = 429


def login(ctx: Context, username: str, password: str) -> str:
    """Check a password and hand out a bearer token; the same error for any failure.

    Each try is first counted against the account name (``_count_attempt``): past
    ``login_lockout_attempts`` in the window the name is locked and the 64 MiB argon2 check is
    not even started, so guessing one account's password from many addresses and processes
    costs the attacker a lock, not the server its memory. The slow hash check runs outside
    any write transaction so logins never block intake."""
    if "\x00" in username or len(username) > 100:
        # no account has a NUL in its name (PostgreSQL cannot even store or compare one) or
        # more than 100 characters; such a name is refused like a wrong password
        _decoy_hash(ctx)
        raise NotAuthenticated("wrong username or password")
    _count_attempt(ctx, username)
    with ctx.db.reader() as s:
        user = s.scalars(select(StaffUser).where(StaffUser.username == username)).first()
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
        _failed_attempt(ctx, username)
        raise NotAuthenticated("wrong username or password")
    token = secrets.token_urlsafe(32)
    now = ctx.now()
    with ctx.db.transaction() as s:
        s.execute(delete(LoginAttempt).where(LoginAttempt.username == username))
        # expired tokens are of no use to anyone: a login is a cheap moment to drop them
        s.execute(delete(StaffToken).where(StaffToken.expires_at < now))
        s.add(
            StaffToken(
                token_hash=sha256(token),
                user_id=user.id,
                created_at=now,
                expires_at=now + timedelta(hours=ctx.settings.token_ttl_hours),
            )
        )
    return token


def _count_attempt(ctx: Context, username: str) -> None:
    """Count this try against the name, atomically in the database (so every server process
    shares the count), and refuse it if the name is locked or out of tries.

    The try is counted before the password is checked, so requests racing in parallel
    cannot get more than ``login_lockout_attempts`` hash checks per window between them; a
    successful login deletes the count. The answer is the same for names that are no
    account, which are counted and locked alike."""
    cfg = ctx.settings
    now = ctx.now()
    window_from = now - timedelta(minutes=cfg.login_lockout_window_minutes)
    row = LoginAttempt.__table__.c
    insert = sqlite_insert if ctx.db.dialect == "sqlite" else postgresql_insert
    at_now = literal(now, UTCDateTime())
    locked = and_(row.locked_until.is_not(None), row.locked_until > at_now)
    fresh = or_(row.window_start < literal(window_from, UTCDateTime()),
                row.locked_until.is_not(None))
    first = insert(LoginAttempt).values(
        username=username, attempts=1, window_start=now, locked_until=None
    )
    upsert = first.on_conflict_do_update(
        index_elements=["username"],
        set_={
            # a locked name stays as it is; a spent window or an ended lock starts afresh
            "attempts": case((locked, row.attempts), (fresh, 1), else_=row.attempts + 1),
            "window_start": case((locked, row.window_start), (fresh, at_now),
                                 else_=row.window_start),
            "locked_until": case((locked, row.locked_until), else_=null()),
        },
    ).returning(row.attempts, row.locked_until)
    with ctx.db.transaction() as s:
        attempts, locked_until = s.execute(upsert).one()
        if locked_until is None and attempts > cfg.login_lockout_attempts:
            # parallel tries overtook the lock the last failure was about to set
            locked_until = now + timedelta(minutes=cfg.login_lockout_minutes)
            s.execute(update(LoginAttempt).where(LoginAttempt.username == username)
                      .values(locked_until=locked_until))
    if locked_until is not None:
        _refuse_locked(ctx, locked_until)


def _failed_attempt(ctx: Context, username: str) -> None:
    """The try counted by ``_count_attempt`` failed: lock the name if it was the last one."""
    cfg = ctx.settings
    now = ctx.now()
    with ctx.db.transaction() as s:
        row = s.get(LoginAttempt, username)
        if row is None or row.attempts < cfg.login_lockout_attempts:
            return
        if row.locked_until is None:
            row.locked_until = now + timedelta(minutes=cfg.login_lockout_minutes)


def _refuse_locked(ctx: Context, until: datetime) -> None:
    minutes = max(1, math.ceil((until - ctx.now()).total_seconds() / 60))
    raise LoginLocked(
        f"too many failed logins to this account; try again in {minutes} min "
        "or ask an administrator to reset the password"
    )


def logout(ctx: Context, token: str) -> None:
    """End this session: its token stops working at once, as cookie and as Bearer."""
    with ctx.db.transaction() as s:
        s.execute(delete(StaffToken).where(StaffToken.token_hash == sha256(token)))


def change_password(
    ctx: Context, actor: Actor, current: str, new: str, keep_token: str | None = None
) -> int:
    """A staff member changes their own password; every other session of theirs ends (a
    stolen token must not outlive the password it was got with). Returns how many ended."""
    require_staff(actor)
    _check_password(new)
    with ctx.db.reader() as s:
        user = s.get(StaffUser, actor.user_id)
        stored = user.password_hash if user is not None else _decoy_hash(ctx)
    ok: bool
    try:
        ok = hasher(ctx).verify(stored, current)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        raise PermissionDenied("the current password is wrong")
    new_hash = hasher(ctx).hash(new)
    keep = sha256(keep_token) if keep_token else None
    return _set_password_hash(ctx, actor, actor.user_id or 0, new_hash, keep, "changed")


def reset_password(ctx: Context, actor: Actor, username: str, new: str) -> int:
    """An administrator sets a user's password: all their sessions end and a lock on the name
    is lifted. Returns how many sessions ended."""
    require_administrator(actor)
    _check_password(new)
    new_hash = hasher(ctx).hash(new)
    return _set_password_hash(ctx, actor, _user_id(ctx, username), new_hash, None, "reset")


def _set_password_hash(
    ctx: Context, actor: Actor, user_id: int, new_hash: str, keep: str | None, how: str
) -> int:
    now = ctx.now()
    with ctx.db.transaction() as s:
        user = s.get(StaffUser, user_id)
        if user is None:
            raise NotFound("no such staff account")
        user.password_hash = new_hash
        ended = _end_sessions(s, user_id, keep)
        s.execute(delete(LoginAttempt).where(LoginAttempt.username == user.username))
        append_audit(
            s, actor=actor.label, action=f"user.password_{how}", subject=f"user:{user_id}",
            data={"username": user.username, "sessions_ended": ended}, at=now,
        )
    return ended


def end_sessions(ctx: Context, actor: Actor, username: str) -> int:
    """An administrator ends every session of a user (a lost laptop, a leaving employee);
    the user logs in again to go on. Returns how many ended."""
    require_administrator(actor)
    user_id = _user_id(ctx, username)
    with ctx.db.transaction() as s:
        ended = _end_sessions(s, user_id, None)
        append_audit(
            s, actor=actor.label, action="user.sessions_ended", subject=f"user:{user_id}",
            data={"username": username, "sessions_ended": ended}, at=ctx.now(),
        )
    return ended


def set_active(ctx: Context, actor: Actor, username: str, active: bool) -> None:
    """Disable or re-enable an account. A disabled one cannot log in, its sessions end at once
    and API keys acting as it stop changing cases."""
    require_administrator(actor)
    if not active and actor.kind == "staff" and actor.name == username:
        raise ValidationFailed("you cannot disable your own account")
    user_id = _user_id(ctx, username)
    with ctx.db.transaction() as s:
        user = s.get(StaffUser, user_id)
        assert user is not None
        user.active = active
        ended = 0 if active else _end_sessions(s, user_id, None)
        append_audit(
            s, actor=actor.label, action="user.enabled" if active else "user.disabled",
            subject=f"user:{user_id}",
            data={"username": username, "sessions_ended": ended}, at=ctx.now(),
        )


def _end_sessions(s: Session, user_id: int, keep: str | None) -> int:
    query = delete(StaffToken).where(StaffToken.user_id == user_id)
    if keep is not None:
        query = query.where(StaffToken.token_hash != keep)
    return int(s.execute(query).rowcount or 0)  # type: ignore[attr-defined]


def _user_id(ctx: Context, username: str) -> int:
    with ctx.db.reader() as s:
        user_id = s.scalar(select(StaffUser.id).where(StaffUser.username == username))
    if user_id is None:
        raise NotFound(f"no staff account {username!r}")
    return int(user_id)


def _check_password(password: str) -> None:
    if len(password) < 8:
        raise ValidationFailed("password must be at least 8 characters")
    if len(password) > 200:
        raise ValidationFailed("password must be at most 200 characters")


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
