"""The docs say what the code does: every setting, every CLI command, and a short README.

The configuration page is generated from ``Settings`` by the MkDocs hook in
``docs/hooks/settings_reference.py`` when ``make docs`` builds the site; these tests load the
same hook, so they fail when a setting loses its help text, when the page loses the place the
table goes, or when a command is added without being mentioned anywhere in ``docs/``.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest
import typer.main
import yaml
from pydantic import Field

from civicpulse.cli import app
from civicpulse.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
HOOK = DOCS / "hooks" / "settings_reference.py"


def _hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("settings_reference", HOOK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _docs_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.rglob("*.md")))


def test_mkdocs_runs_the_settings_hook() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert str(HOOK.relative_to(ROOT)) in config["hooks"]
    assert "operators/configuration.md" in str(config["nav"])


def test_every_setting_is_in_the_configuration_page() -> None:
    hook = _hook()
    page = (DOCS / hook.PAGE).read_text(encoding="utf-8")
    assert page.count(hook.MARKER) == 1
    rendered = hook.render(page)
    missing = [
        name for name in Settings.model_fields
        if f"| `CIVICPULSE_{name.upper()}` |" not in rendered
    ]
    assert missing == []
    for name, field in Settings.model_fields.items():
        assert field.description and _one_line(field.description) in rendered, name


def _one_line(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def test_the_table_follows_the_class_not_a_copy() -> None:
    class Grown(Settings):
        brand_new_knob: int = Field(7, ge=2, description="Added after the docs were written.")

    table = _hook().settings_table(Grown)
    assert "| `CIVICPULSE_BRAND_NEW_KNOB` | integer, ≥ 2 | `7` | Added after the docs" in table


def test_a_setting_without_help_text_stops_the_build() -> None:
    class Silent(Settings):
        undocumented: int = 1

    with pytest.raises(ValueError, match="undocumented"):
        _hook().settings_table(Silent)


def test_a_page_without_the_marker_stops_the_build() -> None:
    with pytest.raises(ValueError, match="settings-reference"):
        _hook().render("# Configuration\n\nthe table was pasted here by hand\n")


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
    docs = _docs_text()
    missing = [c for c in commands if f"`{c}" not in docs and f"{c} " not in docs]
    assert missing == []


def test_readme_is_short_and_its_links_resolve() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode()) < 10_000
    targets = re.findall(r"\]\(([^)\s]+)\)", readme)
    assert targets
    broken = [
        t for t in targets
        if "://" not in t and not (ROOT / t.split("#")[0]).exists()
    ]
    assert broken == []
