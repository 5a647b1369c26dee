"""What every command shares: building the context once and reporting refusals cleanly."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import typer

from civicpulse.bootstrap import build_context
from civicpulse.domain.errors import DomainError, ValidationFailed
from civicpulse.domain.roles import Actor
from civicpulse.infra.context import Context
from civicpulse.services.import_options import parse_when
from civicpulse.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])

#: the operator at the server's shell: acts as the system, since they hold the database anyway
CLI_ACTOR = Actor(kind="system", name="cli-operator")


def map_option(fields: tuple[str, ...], required: tuple[str, ...]) -> Any:
    """The ``--map field=column`` option of a command that reads a city's file (the same
    words for every such command, naming its fields and the ones it needs)."""
    return typer.Option(
        [], "--map", "-m",
        help=f"field=column, repeated. Fields: {', '.join(fields)}; "
        f"{', '.join(required)} are required.",
    )


def context(migrate: bool = True) -> Context:
    """Settings from the environment; the schema is brought up to date on the way."""
    return build_context(Settings(), migrate=migrate)


def refusals_to_exit(fn: F) -> F:
    """Turn a domain refusal into a one-line message and exit code 2, not a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DomainError as exc:
            typer.secho(f"error: {exc.message}", err=True, fg=typer.colors.RED)
            raise typer.Exit(2) from exc

    return wrapper  # type: ignore[return-value]


def moment(name: str, value: str | None, zone: str) -> datetime | None:
    """The ``--since``/``--until`` style option ``name``: a date or a date and time, in the
    city's zone when it names none; a clear refusal otherwise."""
    if value is None:
        return None
    try:
        return parse_when(value, ZoneInfo(zone))
    except ValidationFailed:
        raise ValidationFailed(
            f"--{name} {value!r} is not a date or a date and time (e.g. 2019-11-01)"
        ) from None
