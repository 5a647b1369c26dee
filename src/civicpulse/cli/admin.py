"""users, keys, categories, audit: administering an installation."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from civicpulse.cli.common import CLI_ACTOR, context, refusals_to_exit
from civicpulse.domain.errors import ValidationFailed
from civicpulse.services.audit import verify_audit_log
from civicpulse.services.catalogue import (
    dump_catalogue,
    export_catalogue,
    import_catalogue,
    load_catalogue_text,
)
from civicpulse.services.staff import (
    add_api_key,
    add_user,
    end_sessions,
    list_api_keys,
    list_users,
    reset_password,
    revoke_api_key,
    set_active,
)

users = typer.Typer(help="Staff accounts.", no_args_is_help=True)
keys = typer.Typer(help="API keys for integrations.", no_args_is_help=True)
categories = typer.Typer(help="The service catalogue.", no_args_is_help=True)
audit = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(users, name="users")
    app.add_typer(keys, name="keys")
    app.add_typer(categories, name="categories")
    app.add_typer(audit, name="audit")


@users.command("add")
@refusals_to_exit
def users_add(
    name: str,
    role: str = typer.Option(..., help="admin, dispatcher, officer, auditor or leader."),
    department: str | None = typer.Option(None, help="Department code (officers need one)."),
    password: str = typer.Option(..., prompt=True, hide_input=True, help="At least 8 characters."),
) -> None:
    """Add a staff account."""
    u = add_user(context(), CLI_ACTOR, name, role, password, department)
    where = f", {u.department}" if u.department else ""
    typer.echo(f"added user {u.username} (id {u.id}, {u.role}{where})")


@users.command("list")
def users_list() -> None:
    """List staff accounts."""
    for u in list_users(context()):
        state = "active" if u.active else "inactive"
        typer.echo(f"{u.id}\t{u.username}\t{u.role}\t{u.department or '-'}\t{state}")


@users.command("set-password")
@refusals_to_exit
def users_set_password(
    name: str,
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, confirmation_prompt=True, help="At least 8 characters."
    ),
) -> None:
    """Set a user's password (a forgotten one, a lockout): all their sessions end."""
    ended = reset_password(context(), CLI_ACTOR, name, password)
    typer.echo(f"password of {name} set; {ended} session(s) ended")


@users.command("end-sessions")
@refusals_to_exit
def users_end_sessions(name: str) -> None:
    """End every session (login token) of a user at once, e.g. after a lost laptop."""
    ended = end_sessions(context(), CLI_ACTOR, name)
    typer.echo(f"{ended} session(s) of {name} ended")


@users.command("disable")
@refusals_to_exit
def users_disable(name: str) -> None:
    """Disable an account: it cannot log in, its sessions end, keys acting as it stop."""
    set_active(context(), CLI_ACTOR, name, False)
    typer.echo(f"disabled {name}")


@users.command("enable")
@refusals_to_exit
def users_enable(name: str) -> None:
    """Enable a disabled account again."""
    set_active(context(), CLI_ACTOR, name, True)
    typer.echo(f"enabled {name}")


@keys.command("add")
@refusals_to_exit
def keys_add(
    name: str,
    acts_as: str | None = typer.Option(
        None,
        "--as",
        help="Staff account the key acts as when it changes cases (a partner's Open311 "
        "updates); without it the key can read and submit only.",
    ),
) -> None:
    """Create an API key and print it once (only its hash is kept)."""
    key = add_api_key(context(), CLI_ACTOR, name, acts_as=acts_as)
    typer.echo(key)
    typer.echo("store this key now: it cannot be shown again", err=True)


@keys.command("list")
def keys_list() -> None:
    """List API keys (prefix only)."""
    for k in list_api_keys(context()):
        state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
        acting = f"\tacts as {k.acts_as}" if k.acts_as else ""
        typer.echo(f"{k.id}\t{k.name}\t{k.prefix}…\t{state}{acting}")


@keys.command("revoke")
@refusals_to_exit
def keys_revoke(key_id: int) -> None:
    """Revoke an API key; calls with it are refused from now on."""
    revoke_api_key(context(), CLI_ACTOR, key_id)
    typer.echo(f"revoked key {key_id}")


def _format_of(path: Path | None, fmt: str | None) -> str:
    if fmt:
        return fmt
    if path is not None and path.suffix.lower() == ".csv":
        return "csv"
    return "yaml"


@categories.command("import")
@refusals_to_exit
def categories_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False),
    fmt: str | None = typer.Option(None, "--format", help="yaml or csv (default: by suffix)."),
) -> None:
    """Create or update departments, categories, areas and routing rules by code."""
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(f"{file} is not UTF-8") from exc
    counts = import_catalogue(
        context(), CLI_ACTOR, load_catalogue_text(text, _format_of(file, fmt))
    )
    typer.echo(", ".join(f"{v} {k}" for k, v in counts.items()))


@categories.command("export")
@refusals_to_exit
def categories_export(
    output: Path | None = typer.Option(None, "--output", "-o", help="File (default: stdout)."),
    fmt: str | None = typer.Option(None, "--format", help="yaml or csv."),
) -> None:
    """Write the catalogue as YAML (everything) or CSV (categories)."""
    text = dump_catalogue(export_catalogue(context()), _format_of(output, fmt))
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


@audit.command("verify")
def audit_verify() -> None:
    """Check the whole chain; names every altered, removed or inserted record."""
    count, problems = verify_audit_log(context(migrate=False).db)
    if problems:
        for p in problems:
            typer.secho(str(p), fg=typer.colors.RED)
        typer.echo(f"audit log BROKEN: {len(problems)} problem(s) in {count} records")
        raise typer.Exit(1)
    typer.echo(f"audit log intact: {count} records verified")
