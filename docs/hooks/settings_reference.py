"""MkDocs hook: writes the configuration reference from the ``Settings`` class at build time.

The table used to be copied by hand into the README and drifted from the code (``timezone``
said one thing there and another in ``settings.py``). Generated, it cannot drift: each field's
environment variable, type, default and help text come from ``Settings.model_fields``.
``tests/unit/test_docs_in_step.py`` imports this file to check the same output.
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from civicpulse.settings import Settings

#: the line of docs/operators/configuration.md that the table replaces
MARKER = "<!-- settings-reference -->"
PAGE = "operators/configuration.md"

_TYPE_NAMES = {str: "text", int: "integer", float: "number", bool: "true / false", Path: "path"}
_BOUNDS = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}


def _number(value: object) -> str:
    """As an operator would type it: 60 rather than 60.0, no thousands separators."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _type(field: Any) -> str:
    annotation = field.annotation
    optional = False
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(args) < len(get_args(annotation))
        annotation = args[0] if len(args) == 1 else annotation
    name = _TYPE_NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))
    bounds = [
        f"{sign} {_number(getattr(m, attr))}"
        for m in field.metadata
        for attr, sign in _BOUNDS.items()
        if getattr(m, attr, None) is not None
    ]
    return ", ".join([name + (", optional" if optional else ""), *bounds])


def _default(field: Any) -> str:
    value = field.default
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int | float):
        return f"`{_number(value)}`"
    return f"`{value}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def settings_table(settings_class: type[Settings] = Settings) -> str:
    """One Markdown table row per setting, in the order the class declares them."""
    prefix = settings_class.model_config.get("env_prefix", "")
    rows = [
        "| environment variable | type | default | what it is for |",
        "|---|---|---|---|",
    ]
    for name, field in settings_class.model_fields.items():
        if not field.description:
            raise ValueError(f"setting {name!r} has no description= to document it with")
        rows.append(
            f"| `{prefix}{name.upper()}` | {_type(field)} | {_default(field)} "
            f"| {_cell(field.description)} |"
        )
    return "\n".join(rows)


def render(markdown: str, settings_class: type[Settings] = Settings) -> str:
    """The page with its marker replaced by the table; a page without the marker is an error."""
    if MARKER not in markdown:
        raise ValueError(f"{PAGE} lost its {MARKER} line: the settings table has nowhere to go")
    return markdown.replace(MARKER, settings_table(settings_class))


def on_page_markdown(markdown: str, *, page: Any, config: Any, files: Any) -> str:
    if page.file.src_uri != PAGE:
        return markdown
    try:
        return render(markdown)
    except ValueError as exc:
        from mkdocs.exceptions import PluginError

        raise PluginError(str(exc)) from exc
