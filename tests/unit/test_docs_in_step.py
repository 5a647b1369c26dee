"""The README documents every setting and every CLI command the code has."""

from __future__ import annotations

from pathlib import Path

import typer.main

from civicpulse.cli import app
from civicpulse.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    missing = [
        name for name in Settings.model_fields
        if f"CIVICPULSE_{name.upper()}" not in README
        and not (name.startswith("smtp_") and "CIVICPULSE_SMTP_USERNAME` / `_PASSWORD" in README)
    ]
    assert missing == []


def _commands(group: typer.Typer, prefix: str = "civicpulse") -> list[str]:
    click_group = typer.main.get_command(group)
    out: list[str] = []

    def walk(cmd: object, path: str) -> None:
        sub = getattr(cmd, "commands", None)
        if sub:
            for name, child in sub.items():
                walk(child, f"{path} {name}")
        else:
            out.append(path)

    walk(click_group, prefix)
    return out


def test_every_cli_command_is_documented() -> None:
    commands = _commands(app)
    assert "civicpulse users add" in commands
    missing = [c for c in commands if f"`{c}" not in README and f"{c} " not in README]
    assert missing == []
