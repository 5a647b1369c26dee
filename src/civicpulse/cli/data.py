"""Moving data in and out: demo, import, export."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Registered by the modules that own each command."""
