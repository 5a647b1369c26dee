"""The ``civicpulse`` command: thin wrappers over the services, one module per group."""

from __future__ import annotations

from civicpulse.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
