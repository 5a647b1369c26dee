"""A reason behind a reply judgement, kept as a catalogue key and its values.

Understanding gives judgements out, not sentences: the words are in the translation
catalogues (``locale/<lang>/LC_MESSAGES/messages.po``, keys ``reply.<code>``), so one finding
reads in Chinese on a Chinese page and in English in an English export, and a page can show
the evidence (the template sentence, the missing place) in its own markup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Value = str | int | float | tuple[str, ...]

#: the separator a list of names is joined with, per language
LIST_SEPARATORS = {"zh": "、", "en": ", "}


@dataclass(frozen=True, slots=True)
class Finding:
    """``code`` names the reason ("template_sentence"); ``args`` fill its text."""

    code: str
    args: dict[str, Value] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"reply.{self.code}"

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, **{k: list(v) if isinstance(v, tuple) else v
                                      for k, v in self.args.items()}}

    def render(self, gettext: Callable[[str], str], lang: str) -> str:
        """The finding in a language, through that language's ``gettext``; a key missing
        from the catalogue shows as the key and its values, never as nothing."""
        separator = LIST_SEPARATORS.get(lang, ", ")
        values = {k: separator.join(v) if isinstance(v, tuple) else v
                  for k, v in self.args.items()}
        text = gettext(self.key)
        if text == self.key:
            return f"{self.key} {values}" if values else self.key
        try:
            return text % values
        except (KeyError, TypeError, ValueError):
            return f"{text} {values}"
